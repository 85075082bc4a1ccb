"""Printable documents: the official slips of Circular 01/2018/TT-VPCP (forms 01–06) and the paper
conversion of an electronic document (Decree 45/2020 art. 18), rendered as PDF bytes.

Pure rendering: the inputs are plain frozen dataclasses, the output is bytes; nothing here touches
the database, GraphQL or HTTP.
"""
