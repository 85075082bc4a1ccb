"""Statistics and public disclosure (thống kê, công khai): the handling figures per agency (with
its sub-agencies), administrative level, field, procedure and period (Kon Tum art. 23.10), and the
service index of Decision 766/QĐ-TTg (Trà Vinh art. 12.4), both read from `dossier_facts` — one
row per dossier kept current by triggers — so a report reads one indexed table."""
