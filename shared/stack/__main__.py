"""``python -m shared.stack``: the supervisor of the local stack (``landsync up`` starts it)."""

from shared.stack.supervisor import main

main()
