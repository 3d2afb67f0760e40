"""How names sort (natural_key) and sit in sentences (isolate)."""

from __future__ import annotations

import pytest

from deskapp.domain.errors import ValidationError
from deskapp.domain.people import Caller, check_caller
from deskapp.domain.text import NUMBER_WIDTH, counted, is_email, isolate, natural_sort_key
from deskapp.qt.formatting import natural_key


def test_natural_key_orders_digits_by_value_and_ignores_case() -> None:
    names = ["Resolver 100", "resolver 9", "Group 10", "Group 2", "101", "Resolver 10",
             "group 1", "2", "Group 2a", "a01", "a1"]
    assert sorted(names, key=natural_key) == [
        "2", "101", "a01", "a1", "group 1", "Group 2", "Group 2a", "Group 10", "resolver 9",
        "Resolver 10", "Resolver 100"]
    # Keys of any two texts compare (text against text, number against number).
    assert natural_key("10 Downing") < natural_key("Downing")  # numbers before words
    assert natural_key("") < natural_key("0")
    assert natural_key("Zoë") == natural_key("Zoë")


def test_the_natural_sort_key_orders_by_plain_comparison_as_people_read() -> None:
    names = ["Caller 10", "caller 2", "Caller 1000", "Caller 100", "Caller 2a", "Caller 02",
             "Caller 9", "Caller", "caller 1 0", "Zoë 3", "zoe 3", "Caller ٣", "ÄLVA 1", "10"]
    ordered = sorted(names, key=natural_sort_key)
    # Accents do not count: "ÄLVA" files under A, "Zoë" with "zoe" (ties keep their order).
    assert ordered == ["10", "ÄLVA 1", "Caller", "caller 1 0", "caller 2", "Caller 02",
                       "Caller 2a", "Caller ٣", "Caller 9", "Caller 10", "Caller 100",
                       "Caller 1000", "Zoë 3", "zoe 3"]
    assert sorted(["Zoe", "Émile", "Eve", "ørjan", "Ärzte", "Łukasz"], key=natural_sort_key) \
        == ["Ärzte", "Émile", "Eve", "Łukasz", "ørjan", "Zoe"]
    # What the databases compare: UTF-8 bytes, in the same order as the texts.
    assert sorted(names, key=lambda n: natural_sort_key(n).encode()) == ordered
    # The GUI's natural order is the same, ties broken by the text.
    assert sorted(names, key=natural_key) == sorted(
        names, key=lambda n: (natural_sort_key(n), n))
    assert natural_sort_key("  Caller 2403 ") == "caller " + "2403".zfill(NUMBER_WIDTH)
    assert natural_sort_key("Caller 007") == natural_sort_key("caller 7")


def test_isolate_wraps_a_name_in_first_strong_isolate_and_pop() -> None:
    sentence = f"{isolate('مريم العلي')} is deactivated."
    assert sentence == "\u2068مريم العلي\u2069 is deactivated."


@pytest.mark.parametrize(("text", "ok"), [
    ("ann.smith@example.com", True), ("root@localhost", True), ("ø@bø.no", True),
    ("a@", False), ("@b", False), ("a b@c.d", False), ("x@@y", False), ("a@.b", False),
    ("a@b.", False), ("plain", False)])
def test_what_reads_as_an_email_address(text: str, ok: bool) -> None:
    assert is_email(text) is ok


@pytest.mark.parametrize(("field", "value"), [("email", "a@"), ("email", "a b@c.d"),
                                              ("phone", "abc")])
def test_a_caller_with_a_broken_email_or_phone_is_refused(field: str, value: str) -> None:
    caller = Caller(0, "Ann", **{field: value})  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as caught:
        check_caller(caller)
    assert caught.value.field == field


def test_counted_puts_the_noun_in_the_right_number() -> None:
    assert [counted(n, "incident") for n in (0, 1, 2, 1234)] == [
        "0 incidents", "1 incident", "2 incidents", "1,234 incidents"]
    assert counted(1, "match", "matches") == "1 match"
    assert counted(3, "match", "matches") == "3 matches"
