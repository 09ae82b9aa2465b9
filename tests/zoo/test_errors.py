import pytest

from zoo.errors import UserError, check_choice


def test_message_says_what_where_and_fix() -> None:
    err = UserError("dataset missing.", where="/data/x", fix="set DATA_DIR")
    assert str(err) == "dataset missing. Where: /data/x. Fix: set DATA_DIR."


def test_check_choice_names_the_key_and_the_options() -> None:
    check_choice("bce", ("bce", "eq4"), "model.loss")
    with pytest.raises(UserError) as info:
        check_choice("mse", ("bce", "eq4"), "model.loss")
    message = str(info.value)
    assert "unknown loss 'mse'" in message and "model.loss" in message and "bce, eq4" in message
