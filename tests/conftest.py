"""Test configuration: Hypothesis profiles for the property tests.

"ci" (the default) runs 200 derandomized examples per property; HYPOTHESIS_PROFILE=dev runs 50.
"""

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
