"""Grace periods shared by the leak audit tests."""

# Long enough for anything finishing to finish on a loaded 2-core machine; a
# clean audit returns as soon as it is clean, so this costs only on failure.
SETTLE = 10.0
# For audits that must report something: they always wait this long.
SHORT = 0.05
