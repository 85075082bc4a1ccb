"""Printable documents: the official slips of Circular 01/2018/TT-VPCP (forms 01–06) and the paper
conversion of an electronic document (Decree 45/2020 art. 18), rendered as PDF bytes.

`layout` (the drawing primitives), `slips` (the forms) and `conversion` are pure rendering: the
inputs are plain frozen dataclasses, the output is bytes; they touch no database, GraphQL or
HTTP. `issue` builds those inputs from a dossier, stores the PDFs and verifies conversions.
"""
