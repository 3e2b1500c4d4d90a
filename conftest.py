"""pytest, for tests/ and for the notebooks nbval runs: results never depend on the generation cache.

helpers.generate caches pictures on disk (helpers/core/generation_cache.py). Under pytest it is off,
for the notebooks' kernels too (they inherit this environment); the cache's own tests turn it
on in a temporary folder.
"""

import os

os.environ["WORKBOOK_CACHE"] = "off"
