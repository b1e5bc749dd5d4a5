from mock_server.core.barcodes import LENGTH, is_valid_barcode, luhn_check_digit, new_barcode


def test_luhn_reference_values():
    assert luhn_check_digit("7992739871") == 3
    assert is_valid_barcode("0" * 20 + "0")


def test_new_barcodes_are_valid_unique_and_random():
    codes = [new_barcode() for _ in range(5000)]
    assert all(len(c) == LENGTH and is_valid_barcode(c) for c in codes)
    assert len(set(codes)) == len(codes)
    # 20 random digits: every position takes many values (not derived from a counter).
    for position in range(20):
        assert len({c[position] for c in codes}) == 10


def test_check_digit_catches_single_digit_typos_and_swaps():
    code = new_barcode()
    for i in range(len(code)):
        wrong = code[:i] + str((int(code[i]) + 1) % 10) + code[i + 1 :]
        assert not is_valid_barcode(wrong)
    for bad in ("", None, "12", "a" * LENGTH, code + "0"):
        assert not is_valid_barcode(bad)
