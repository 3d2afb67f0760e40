"""How names sort (natural_key) and sit in sentences (isolate)."""

from __future__ import annotations

from deskapp.domain.text import isolate
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


def test_isolate_wraps_a_name_in_first_strong_isolate_and_pop() -> None:
    sentence = f"{isolate('مريم العلي')} is deactivated."
    assert sentence == "\u2068مريم العلي\u2069 is deactivated."
