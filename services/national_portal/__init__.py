"""The national public service portal (Cổng Dịch vụ công quốc gia): the status feed, the daily
reconciliation, and dossiers submitted there."""
