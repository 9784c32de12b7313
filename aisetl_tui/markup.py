"""Text made safe to put in Textual markup."""


def escape(text: str) -> str:
    """``text`` shown as it is in markup. Textual takes any ``[Word]`` for a tag, and the
    ``escape`` of Rich and of Textual leaves those that start with a capital (a target's
    ``t[EyHfKygA]`` showed as ``t``; an object named ``[Data].txt`` as ``.txt``)."""
    return text.replace("[", "\\[")
