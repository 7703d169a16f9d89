import pytest

from datasette_files.csv_import.detect import (
    ColumnTypes, column_names, decode_sample, is_csv, sniff, table_name_for)


@pytest.mark.parametrize("sample,expected", [
    (b"a,b\n1,2\n", ("a,b\n1,2\n", "utf-8")),
    (b"\xef\xbb\xbfa,b\n", ("a,b\n", "utf-8-sig")),
    (b"caf\xe9,b\n" + b"x" * 10, ("caf\xe9,b\n" + "x" * 10, "latin-1")),
    (b"ok,\xc3", ("ok,", "utf-8")),  # a character cut at the end of the sample
])
def test_decode_sample(sample, expected):
    assert decode_sample(sample) == expected


@pytest.mark.parametrize("text,name,expected", [
    ("name,age\nAda,36\nLinus,\n", "a.csv", (",", True)),
    ("name\tage\nAda\t36\n", "a.tsv", ("\t", True)),
    ("a;b;c\n1;2;3\n4;5;6\n", "a.csv", (";", True)),
    ("1,2,3\n4,5,6\n", "a.csv", (",", False)),
])
def test_sniff(text, name, expected):
    assert sniff(text, name) == expected


def test_types_widen_over_the_whole_file():
    types = ColumnTypes()
    for row in (["1", "1", "x", ""], ["2", "2.5", "y", ""], ["3", "", "", ""]):
        types.observe(row)
    assert types.sqlite_types(5) == ["INTEGER", "REAL", "TEXT", "TEXT", "TEXT"]
    types.observe(["N/A"])
    assert types.sqlite_types(1) == ["TEXT"]


def test_names():
    assert column_names(["id", "", "ID", "name"], 5) == ["id", "column_2", "ID_2", "name",
                                                          "column_5"]
    assert table_name_for("Sales Report (2025).csv") == "sales_report_2025"
    assert table_name_for("2025.csv") == "t_2025"
    assert table_name_for("!!!.csv") == "imported"
    assert is_csv("text/csv", "x") and is_csv(None, "x.TSV") and not is_csv("text/plain", "x.txt")
