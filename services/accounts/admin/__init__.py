"""Admin acts on accounts (quản trị tài khoản): staff creation, role assignments, hand-over,
locks and unlocks, password resets, deletion. Who may act on whom: `reach`."""
