"""Tests for rpma.core.validation: example-based rules plus hypothesis properties."""

from __future__ import annotations

import html
import math
import pickle
import string
from collections.abc import Callable
from typing import Annotated, TypeVar

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from rpma.core.validation import (
    CODE_EMAIL_INVALID,
    CODE_PASSWORD_WEAK,
    CODE_VALIDATION_ERROR,
    PASSWORD_SPECIAL_CHARACTERS,
    Email,
    FieldValidationError,
    Password,
    PersonName,
    Username,
    as_pydantic,
    clean_text,
    clean_text_validator,
    sanitize_text_input,
    validate_email,
    validate_gps_accuracy,
    validate_gps_coordinates,
    validate_gps_freshness,
    validate_name,
    validate_password,
    validate_username,
)

CONTROL_CHARS = frozenset(
    chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]
)
SPECIALS = "".join(sorted(PASSWORD_SPECIAL_CHARACTERS))
MINUTE_MS = 60_000
T = TypeVar("T")


def attempt(fn: Callable[[], T]) -> T | FieldValidationError:
    """Return the result or the raised error, so properties can branch on the outcome."""
    try:
        return fn()
    except FieldValidationError as exc:
        return exc


def expect_error(code: str, fn: Callable[[], object]) -> FieldValidationError:
    with pytest.raises(FieldValidationError) as info:
        fn()
    assert info.value.code == code
    assert info.value.message
    return info.value


# ------------------------------------------------------------------------- error type


def test_field_validation_error_is_value_error_with_code_and_message() -> None:
    err = FieldValidationError("SOME_CODE", "Something is wrong.")
    assert isinstance(err, ValueError)
    assert err.code == "SOME_CODE"
    assert err.message == "Something is wrong."
    assert str(err) == "Something is wrong."


def test_field_validation_error_survives_pickling() -> None:
    err = pickle.loads(pickle.dumps(FieldValidationError("C", "M")))  # noqa: S301
    assert (err.code, err.message) == ("C", "M")


# ------------------------------------------------------------------------------ email


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("user@example.com", "user@example.com"),
        ("  John.Doe@Example.COM \n", "john.doe@example.com"),
        ("o'brien+ppf@shop.co.uk", "o'brien+ppf@shop.co.uk"),
        ("a@b.co", "a@b.co"),
        ("x@" + "a" * 63 + ".com", "x@" + "a" * 63 + ".com"),
        ("a" * (254 - len("@example.com")) + "@example.com", None),
    ],
)
def test_validate_email_accepts(raw: str, expected: str | None) -> None:
    assert validate_email(raw) == (expected if expected is not None else raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "plainaddress",
        "@example.com",
        "user@",
        "user@@example.com",
        "user name@example.com",
        "user@-example.com",
        "user@example-.com",
        "user@example..com",
        "user@.example.com",
        "user@localhost",  # no dot in the domain
        "x@" + "a" * 64 + ".com",  # 64-character label
        "jösé@example.com",
        "user@exämple.com",
        "a" * (255 - len("@example.com")) + "@example.com",  # 255 characters
        "javascript@example.com",
        "ScRiPt.kiddie@example.com",
        "user@script.example.com",
    ],
)
def test_validate_email_rejects(raw: str) -> None:
    expect_error(CODE_EMAIL_INVALID, lambda: validate_email(raw))


def test_validate_email_length_is_measured_after_stripping() -> None:
    address = "a" * (254 - len("@example.com")) + "@example.com"
    assert validate_email(f"   {address}   ") == address


_EMAIL_LOCAL = st.text(alphabet=string.ascii_letters + string.digits + "._+-", min_size=1)
_EMAIL_LABEL = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=12)
_EMAIL_DOMAIN = st.lists(_EMAIL_LABEL, min_size=2, max_size=4).map(".".join)
_VALID_LOOKING_EMAIL = st.builds(
    lambda local, domain, pad: f"{pad}{local[:40]}@{domain}{pad}",
    _EMAIL_LOCAL,
    _EMAIL_DOMAIN,
    st.sampled_from(["", " ", "\t", "\n "]),
)


@given(_VALID_LOOKING_EMAIL)
def test_validate_email_accepts_generated_addresses(raw: str) -> None:
    assume("script" not in raw.lower())
    assert validate_email(raw) == raw.strip().lower()


@given(st.one_of(_VALID_LOOKING_EMAIL, st.text()))
def test_validate_email_output_is_lowercase_and_idempotent(raw: str) -> None:
    result = attempt(lambda: validate_email(raw))
    if isinstance(result, FieldValidationError):
        assert result.code == CODE_EMAIL_INVALID
        return
    assert result == result.lower()
    assert result.isascii()
    assert validate_email(result) == result


# --------------------------------------------------------------------------- password


@pytest.mark.parametrize(
    "password",
    [
        "SecurePass123!",
        "Abcdef1!",  # exactly 8
        "abcdefG1",  # lower + upper + digit
        "abcdeF!!",  # lower + upper + special
        "abcdef1!",  # lower + digit + special
        "ABCDEF1!",  # upper + digit + special
        "Ab1!xyz9" * 16,  # exactly 128
        "aaa1A!aaa",  # three in a row is fine
        'Tr"ck\\y|9',
    ],
)
def test_validate_password_accepts(password: str) -> None:
    assert validate_password(password) == password


@pytest.mark.parametrize(
    ("password", "message_fragment"),
    [
        ("Short1!", "between 8 and 128"),
        ("Ab1!xyz9" * 16 + "Q", "between 8 and 128"),
        ("abcdefgh1", "3 of: uppercase, lowercase, number, special"),
        ("abcdefg!", "3 of"),
        ("ABCDEFGH", "3 of"),
        ("ÉÉbcdef1", "3 of"),  # non-ASCII capitals do not count as uppercase
        ("password1A!", "common"),
        ("MyPASSWORD9!", "common"),
        ("Ab123456!", "common"),
        ("Qwerty12!", "common"),
        ("MyAdmin12!", "common"),
        ("aaaa1A!x", "4 or more times"),
        ("Ab1!xyz----", "4 or more times"),
        ("Abc1!\n\n\n\nx", "4 or more times"),
    ],
)
def test_validate_password_rejects(password: str, message_fragment: str) -> None:
    err = expect_error(CODE_PASSWORD_WEAK, lambda: validate_password(password))
    assert message_fragment in err.message


_BANNED = ("password", "123456", "qwerty", "admin")


@st.composite
def strong_passwords(draw: st.DrawFn) -> str:
    pools = [string.ascii_uppercase, string.ascii_lowercase, string.digits, SPECIALS]
    chars = [draw(st.sampled_from(pool)) for pool in pools]
    extra = draw(st.lists(st.sampled_from("".join(pools)), min_size=4, max_size=60))
    candidate = "".join(draw(st.permutations([*chars, *extra])))
    assume(not any(banned in candidate.lower() for banned in _BANNED))
    assume(not any(candidate[i] * 4 == candidate[i : i + 4] for i in range(len(candidate))))
    return candidate


@given(strong_passwords())
def test_validate_password_accepts_any_strong_password(password: str) -> None:
    assert validate_password(password) == password


@given(st.text(alphabet=string.ascii_lowercase + string.digits, min_size=8, max_size=64))
def test_validate_password_rejects_two_classes(password: str) -> None:
    expect_error(CODE_PASSWORD_WEAK, lambda: validate_password(password))


# --------------------------------------------------------------------- username / name


@pytest.mark.parametrize("username", ["abc", "user_name-1", "Z" + "9" * 49, "a__"])
def test_validate_username_accepts(username: str) -> None:
    assert validate_username(username) == username


@pytest.mark.parametrize(
    "username",
    ["", "ab", "1abc", "_abc", "-abc", "a" * 51, "user.name", "usér", "abc\n", " abc", "a bc"],
)
def test_validate_username_rejects(username: str) -> None:
    expect_error(CODE_VALIDATION_ERROR, lambda: validate_username(username))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jo", "Jo"),
        ("  Jean  ", "Jean"),
        ("José Núñez", "José Núñez"),
        ("O'Brien", "O'Brien"),
        ("Anne-Marie de la Tour", "Anne-Marie de la Tour"),
        ("Łukasz Żółć", "Łukasz Żółć"),
        ("Žofie ž", "Žofie ž"),
        ("ÀÖØöøÿ", "ÀÖØöøÿ"),
        ("a" * 100, "a" * 100),
    ],
)
def test_validate_name_accepts(raw: str, expected: str) -> None:
    assert validate_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "J",
        "  J  ",
        "a" * 101,
        "Jean2",
        "Jean\nPaul",
        "Jean\tPaul",
        "Jean\u00a0Paul",  # non-breaking space
        "A\u00d7B",  # multiplication sign
        "A\u00f7B",  # division sign
        "A\u017f",  # long s, just past the range
        "李小龍",
        "Jean_Paul",
        "--",  # no letter at all
        "' '",
    ],
)
def test_validate_name_rejects(raw: str) -> None:
    expect_error(CODE_VALIDATION_ERROR, lambda: validate_name(raw))


# -------------------------------------------------------------------------------- GPS


@pytest.mark.parametrize(
    ("lat", "lon"), [(0.0, 0.0), (90.0, 180.0), (-90.0, -180.0), (48.8566, 2.3522)]
)
def test_validate_gps_coordinates_accepts(lat: float, lon: float) -> None:
    validate_gps_coordinates(lat, lon)


@pytest.mark.parametrize(
    ("lat", "lon", "fragment"),
    [
        (90.0001, 0.0, "Latitude"),
        (-91.0, 0.0, "Latitude"),
        (math.nan, 0.0, "Latitude"),
        (math.inf, 0.0, "Latitude"),
        (0.0, 180.0001, "Longitude"),
        (0.0, -181.0, "Longitude"),
        (0.0, math.nan, "Longitude"),
        (0.0, -math.inf, "Longitude"),
    ],
)
def test_validate_gps_coordinates_rejects(lat: float, lon: float, fragment: str) -> None:
    err = expect_error(CODE_VALIDATION_ERROR, lambda: validate_gps_coordinates(lat, lon))
    assert fragment in err.message


@given(st.floats(-90, 90), st.floats(-180, 180))
def test_coordinates_in_range_always_pass(lat: float, lon: float) -> None:
    validate_gps_coordinates(lat, lon)


_OUT_OF_RANGE_LAT = st.one_of(
    st.floats(min_value=90, exclude_min=True),
    st.floats(max_value=-90, exclude_max=True),
    st.just(math.nan),
)
_OUT_OF_RANGE_LON = st.one_of(
    st.floats(min_value=180, exclude_min=True),
    st.floats(max_value=-180, exclude_max=True),
    st.just(math.nan),
)


@given(_OUT_OF_RANGE_LAT, st.floats())
def test_latitude_out_of_range_always_fails(lat: float, lon: float) -> None:
    expect_error(CODE_VALIDATION_ERROR, lambda: validate_gps_coordinates(lat, lon))


@given(st.floats(-90, 90), _OUT_OF_RANGE_LON)
def test_longitude_out_of_range_always_fails(lat: float, lon: float) -> None:
    expect_error(CODE_VALIDATION_ERROR, lambda: validate_gps_coordinates(lat, lon))


@pytest.mark.parametrize(("accuracy", "max_allowed"), [(0.0, 100.0), (100.0, 100.0), (5, 5.0)])
def test_validate_gps_accuracy_accepts(accuracy: float, max_allowed: float) -> None:
    validate_gps_accuracy(accuracy, max_allowed)


def test_validate_gps_accuracy_reports_limit() -> None:
    err = expect_error(CODE_VALIDATION_ERROR, lambda: validate_gps_accuracy(100.5))
    assert err.message == "GPS accuracy 100.5m exceeds maximum 100.0m"
    err = expect_error(CODE_VALIDATION_ERROR, lambda: validate_gps_accuracy(30.0, 25.0))
    assert err.message == "GPS accuracy 30.0m exceeds maximum 25.0m"


@pytest.mark.parametrize("accuracy", [-0.1, math.nan, math.inf, -math.inf])
def test_validate_gps_accuracy_rejects_nonsense(accuracy: float) -> None:
    expect_error(CODE_VALIDATION_ERROR, lambda: validate_gps_accuracy(accuracy))


NOW_MS = 1_700_000_000_000


@pytest.mark.parametrize(
    "timestamp_ms",
    [NOW_MS, NOW_MS - 10 * MINUTE_MS, NOW_MS - 1, NOW_MS + MINUTE_MS, NOW_MS + 1],
)
def test_validate_gps_freshness_accepts(timestamp_ms: int) -> None:
    validate_gps_freshness(timestamp_ms, NOW_MS)


@pytest.mark.parametrize(
    ("age_ms", "max_age_ms", "message"),
    [
        # Rounded up, so the age never reads as equal to the limit it exceeds.
        (
            10 * MINUTE_MS + 1,
            10 * MINUTE_MS,
            "GPS location 11 minutes old exceeds maximum 10 minutes",
        ),
        (25 * MINUTE_MS, 10 * MINUTE_MS, "GPS location 25 minutes old exceeds maximum 10 minutes"),
        (2 * MINUTE_MS, MINUTE_MS, "GPS location 2 minutes old exceeds maximum 1 minute"),
        (MINUTE_MS, 30_000, "GPS location 1 minute old exceeds maximum 0.5 minutes"),
    ],
)
def test_validate_gps_freshness_rejects_stale(age_ms: int, max_age_ms: int, message: str) -> None:
    err = expect_error(
        CODE_VALIDATION_ERROR,
        lambda: validate_gps_freshness(NOW_MS - age_ms, NOW_MS, max_age_ms),
    )
    assert err.message == message


def test_validate_gps_freshness_rejects_future_beyond_skew() -> None:
    err = expect_error(
        CODE_VALIDATION_ERROR, lambda: validate_gps_freshness(NOW_MS + MINUTE_MS + 1, NOW_MS)
    )
    assert "future" in err.message


@given(st.integers(-MINUTE_MS, 600_000))
def test_gps_freshness_window_always_passes(age_ms: int) -> None:
    validate_gps_freshness(NOW_MS - age_ms, NOW_MS)


# ------------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("raw", "max_length", "expected"),
    [
        (
            '<script>alert("x")</script>',
            200,
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;",
        ),
        ("Tom & Jerry", 50, "Tom &amp; Jerry"),
        ("it's", 50, "it&#x27;s"),
        ("&lt;", 50, "&amp;lt;"),  # user-typed entity text is preserved literally
        ("a\x00b\x07c\x7fd\x1fe\x0bf\x0cg", 50, "abcdefg"),
        ("  a \n\t b\r\n\r\nc  ", 50, "a b c"),
        ("hello world", 5, "hello"),
        ("hello world", 6, "hello"),  # trailing space after a cut is dropped
        ("a&b", 2, "a"),
        ("a&b", 5, "a"),  # "a&amp" would be a cut entity
        ("a&b", 6, "a&amp;"),
        ("ab<", 4, "ab"),
        ("ab<", 5, "ab"),
        ("ab<", 6, "ab&lt;"),
        ('x"', 6, "x"),
        ('x"', 7, "x&quot;"),
        ("x'", 6, "x"),
        ("x'", 7, "x&#x27;"),
        ("a &", 4, "a"),
        ("&&", 5, "&amp;"),
        ("&&", 9, "&amp;"),
        ("anything", 0, ""),
        ("", 10, ""),
    ],
)
def test_sanitize_text_input_examples(raw: str, max_length: int, expected: str) -> None:
    assert sanitize_text_input(raw, max_length) == expected


def test_sanitize_text_input_rejects_negative_max_length() -> None:
    with pytest.raises(ValueError, match="max_length"):
        sanitize_text_input("x", -1)


@given(st.text(), st.integers(0, 300))
def test_sanitized_output_is_safe_and_bounded(raw: str, max_length: int) -> None:
    out = sanitize_text_input(raw, max_length)
    assert len(out) <= max_length
    assert not set("<>\"'") & set(out)
    assert not CONTROL_CHARS & set(out)
    assert out == out.strip()
    assert "  " not in out
    # Every "&" must start a complete entity: no partial entity survives truncation.
    assert html.escape(html.unescape(out)) == out


@given(st.text(alphabet=st.characters(exclude_characters="&")), st.integers(0, 300))
def test_sanitize_never_double_escapes(raw: str, max_length: int) -> None:
    assert "&amp;" not in sanitize_text_input(raw, max_length)


@given(st.lists(st.text(alphabet=string.ascii_letters + string.digits, min_size=1), max_size=20))
def test_sanitize_plain_text_is_identity(words: list[str]) -> None:
    text = " ".join(words)
    assert sanitize_text_input(text, len(text)) == text


@given(st.text())
def test_sanitize_round_trips_through_unescape(raw: str) -> None:
    out = sanitize_text_input(raw, 10_000)
    without_controls = "".join(ch for ch in raw if ch not in CONTROL_CHARS)
    assert html.unescape(out) == " ".join(without_controls.split())


@pytest.mark.parametrize(
    ("raw", "max_length", "expected"),
    [
        ("  line1\n\tline2\r\n  ", 100, "line1\n\tline2"),
        ("a\x00b\x07c\x7fd\x1b", 100, "abcd"),
        ("<b>&amp;</b>", 12, "<b>&amp;</b>"),  # stored raw: no escaping
        ("abc\x00\x00", 3, "abc"),  # length is counted after cleaning
        ("   ", 0, ""),
    ],
)
def test_clean_text_examples(raw: str, max_length: int, expected: str) -> None:
    assert clean_text(raw, max_length, field="Notes") == expected


def test_clean_text_raises_instead_of_truncating() -> None:
    err = expect_error(CODE_VALIDATION_ERROR, lambda: clean_text("abcdef", 5, field="Notes"))
    assert err.message == "Notes must be at most 5 characters."


@given(st.text(), st.integers(0, 50))
def test_clean_text_never_truncates_silently(raw: str, max_length: int) -> None:
    out = attempt(lambda: clean_text(raw, max_length, field="Notes"))
    if isinstance(out, FieldValidationError):
        assert out.code == CODE_VALIDATION_ERROR
        assert len("".join(ch for ch in raw if ch not in CONTROL_CHARS).strip()) > max_length
        return
    assert len(out) <= max_length
    assert not CONTROL_CHARS & set(out)
    assert out in raw or any(ch in CONTROL_CHARS for ch in raw)


# --------------------------------------------------------------------------- pydantic


class Signup(BaseModel):
    email: Email
    password: Password
    username: Username
    name: PersonName
    notes: Annotated[str, clean_text_validator(10, field="Notes")] = ""


VALID_SIGNUP = {
    "email": " Jane@Example.com ",
    "password": "SecurePass123!",
    "username": "jane_d",
    "name": " Jane Dœ ",
}


def test_pydantic_types_accept_and_normalise() -> None:
    model = Signup.model_validate({**VALID_SIGNUP, "notes": " ok\x00 "})
    assert model.email == "jane@example.com"
    assert model.password == "SecurePass123!"
    assert model.username == "jane_d"
    assert model.name == "Jane Dœ"
    assert model.notes == "ok"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("email", "not-an-email", CODE_EMAIL_INVALID),
        ("password", "password1A!", CODE_PASSWORD_WEAK),
        ("username", "1bad", CODE_VALIDATION_ERROR),
        ("name", "X", CODE_VALIDATION_ERROR),
        ("notes", "x" * 11, CODE_VALIDATION_ERROR),
    ],
)
def test_pydantic_error_type_is_the_code(field: str, value: str, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        Signup.model_validate({**VALID_SIGNUP, field: value})
    (error,) = info.value.errors()
    assert error["type"] == code
    assert error["loc"] == (field,)
    assert error["msg"].endswith(".")


@given(st.text(max_size=30))
def test_pydantic_password_errors_always_carry_code(value: str) -> None:
    errors: list[str] = []
    try:
        Signup.model_validate({**VALID_SIGNUP, "password": value})
    except ValidationError as exc:
        errors = [e["type"] for e in exc.errors()]
    assert errors in ([], [CODE_PASSWORD_WEAK])
    assert (errors == []) == (attempt(lambda: validate_password(value)) == value)


def test_as_pydantic_passes_through_other_exceptions_and_results() -> None:
    def boom(value: str) -> str:
        raise KeyError(value)

    assert as_pydantic(str.upper)("abc") == "ABC"
    with pytest.raises(KeyError):
        as_pydantic(boom)("x")
