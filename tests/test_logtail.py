from aisetl_tui.logtail import new_lines


def test_growing_log() -> None:
    assert new_lines([], ["a", "b"]) == ["a", "b"]
    assert new_lines(["a", "b"], ["a", "b", "c"]) == ["c"]
    assert new_lines(["a", "b"], ["a", "b"]) == []


def test_rotated_tail_keeps_only_new() -> None:
    assert new_lines(["a", "b", "c", "d"], ["c", "d", "e", "f"]) == ["e", "f"]


def test_repeated_lines_use_the_longest_overlap() -> None:
    assert new_lines(["x", "x", "y"], ["x", "y", "x", "y"]) == ["x", "y"]


def test_no_overlap_means_everything_is_new() -> None:
    assert new_lines(["a", "b"], ["q", "r"]) == ["q", "r"]
