"""Online payment of fees (thanh toán trực tuyến phí, lệ phí) through payment gateways."""
