from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, strategies as st

from talk.phone import is_withheld, parse_caller_id, parse_keypad_number, spoken_digits


@pytest.mark.parametrize(
    "digits, region, expected",
    [
        ("4155550100", "US", "+14155550100"),  # the account's region first
        ("14155550100", "US", "+14155550100"),
        ("0312345678", "JP", "+81312345678"),
        ("00442079460958", "US", "+442079460958"),  # 00 → +
        ("011442079460958", "US", "+442079460958"),  # 011 → +
        ("00442079460958", "JP", "+442079460958"),
        ("442079460958", "US", "+442079460958"),  # country code without prefix
        ("81312345678", "US", "+81312345678"),
        ("4155550100#", "US", "+14155550100"),
    ],
)
def test_it_reads_keypad_numbers(digits, region, expected):  # SPEC C4
    assert parse_keypad_number(digits, region) == expected


@pytest.mark.parametrize(
    "digits",
    ["", "#", "12", "0000000000", "123456789012345678901", "41555501a0", "19005550100", "+4155550100"],
)
def test_it_refuses_what_is_not_a_dialable_number(digits):  # SPEC C4 (invalid → asked again)
    assert parse_keypad_number(digits, "US") is None


@pytest.mark.parametrize(
    "caller_id, expected",
    [
        ("+14155550100", "+14155550100"),
        ("sip:+14155550100@acme.sip.twilio.com", "+14155550100"),  # SPEC C5: From URI user part
        ("sip:4155550100@pbx.example.com;transport=tcp", "+14155550100"),
        ("sips:0312345678@pbx.example.jp", None),  # national JP number read in the US region
        ("sip:alice@pbx.example.com", None),
        ("anonymous", None),
        ("+266696687", None),
        ("Restricted", None),
        ("", None),
    ],
)
def test_it_reads_the_caller_id(caller_id, expected):  # SPEC C5
    assert parse_caller_id(caller_id, "US") == expected


def test_withheld_ids_are_recognised():
    assert is_withheld("anonymous") and is_withheld("+7378742833") and not is_withheld("+14155550100")


def test_read_back_is_digit_by_digit():  # SPEC C4
    assert spoken_digits("+14155550100") == ["+", "1", "4", "1", "5", "5", "5", "5", "0", "1", "0", "0"]


@given(st.text(alphabet="0123456789#*", max_size=25), st.sampled_from(["US", "JP", "DE", "GB"]))
def test_a_parsed_keypad_number_is_always_valid_e164(digits, region):
    result = parse_keypad_number(digits, region)
    if result is not None:
        number = phonenumbers.parse(result)
        assert phonenumbers.is_valid_number(number) and result.startswith("+")
