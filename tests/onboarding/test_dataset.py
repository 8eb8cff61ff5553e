"""german.data decoded with its own documentation: every code, every applicant."""

from __future__ import annotations

import numpy as np
import pytest

from chainwatch.onboarding.attributes import ATTRIBUTES, BY_NAME
from chainwatch.onboarding.dataset import CreditData, feature_matrix, parse_line
from chainwatch.onboarding.errors import DatasetError
from chainwatch.shared.onboarding import CheckingAccount, CreditHistory, Purpose


def test_every_applicant_decodes_with_the_documented_class_balance(
    credit_data: CreditData,
) -> None:
    assert len(credit_data) == 1000
    assert int(credit_data.bad.sum()) == 300  # german.doc: 700 good, 300 bad


def test_a_line_decodes_into_readable_values() -> None:
    line = "A12 48 A32 A43 5951 A61 A73 2 A92 A101 2 A121 22 A143 A152 1 A173 1 A191 A201 2"
    applicant, bad = parse_line(line, "test", 1)
    assert bad == 1
    assert applicant.checking_account is CheckingAccount.FROM_0_TO_200_DM
    assert applicant.credit_history is CreditHistory.EXISTING_PAID_DULY
    assert applicant.purpose is Purpose.RADIO_TELEVISION
    assert applicant.credit_amount_dm == 5951
    assert applicant.age_years == 22
    assert applicant.personal_status_sex.sex == "female"
    assert applicant.telephone_registered is False
    assert applicant.foreign_worker is True
    assert BY_NAME["savings"].value_text(applicant.savings) == "below 100 DM"


def test_the_two_digit_codes_of_purpose_decode() -> None:
    assert BY_NAME["purpose"].codes["A40"] == "car_new"
    assert BY_NAME["purpose"].codes["A410"] == "other"
    assert BY_NAME["credit_history"].codes["A30"] == "no_credits_or_all_paid"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("A11 6 A34", "3 fields"),
        ("A19 6 A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 1",
         "unknown code 'A19'"),
        ("A11 x A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 1",
         "not an integer"),
        ("A11 6 A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 3",
         "neither 1 nor 2"),
    ],
)  # fmt: skip
def test_a_bad_line_is_named_with_its_number(line: str, reason: str) -> None:
    with pytest.raises(DatasetError, match=reason) as caught:
        parse_line(line, "german.data", 17)
    assert caught.value.line == 17


def test_categories_are_encoded_by_their_position(credit_data: CreditData) -> None:
    names = [a.name for a in ATTRIBUTES]
    matrix = feature_matrix(credit_data.applicants[:50], names)
    assert matrix.shape == (50, 20)
    for column, attribute in enumerate(ATTRIBUTES):
        if attribute.kind == "categorical":
            assert np.all(matrix[:, column] < len(attribute.categories))
