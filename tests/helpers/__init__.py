"""Code shared by the tests that is not a fixture: paths, config composition, the CLI runner, servers, fakes,
drivers. Test modules import from here (``from tests.helpers.cli import run_cli``); no test module imports
from another test module or from a conftest.py. Fixtures are in tests/conftest.py."""
