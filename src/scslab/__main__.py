"""``python -m scslab``: the ``scslab`` command, for a Python without the script on its path.

Owns nothing but the hand-over to ``cli.entry``; the command line is ``cli.py``'s.
"""

from scslab.cli import entry

if __name__ == "__main__":  # not when a tool imports every module (pydoc, a docs generator)
    entry()
