from zoo.errors import UserError


def test_message_says_what_where_and_fix() -> None:
    err = UserError("dataset missing.", where="/data/x", fix="set DATA_DIR")
    assert str(err) == "dataset missing. Where: /data/x. Fix: set DATA_DIR."
