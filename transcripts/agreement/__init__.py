"""Inter-coder agreement.

`statistics` holds the general statistics (percent agreement, Cohen's kappa, Krippendorff's
alpha) and `units` turns coders' excerpts into units and figures; both work on plain data and
import nothing from Django. `loading` reads a project's coding from the database into the
plain shapes `units` takes; import it by name, so the pure modules stay importable on their own.
"""
