"""What tmux 3.3a (raw) and 3.4+ (vis-encoded) printed for the same ``#{q:…}`` values (see
``tests/integration/test_tmux_versions.py`` for the same on a live server of either version)."""

# A folder "/tmp/wd/a b\037|<ESC>q<US>zéN<LF>L" printed through #{q:pane_current_path}:
PATH_33A = "/tmp/wd/a\\ b\\\\037\\|\x1bq\x1fz\u00e9N\nL"
PATH_35A = "/tmp/wd/a\\ b\\\\037\\|\\033q\\037z\u00e9N\nL"
PATH = "/tmp/wd/a b\\037|\x1bq\x1fz\u00e9N\nL"
