import os

# Browser tests run Django's live server in a thread next to Playwright's sync API, which
# runs an event loop; Django's async-safety check would otherwise refuse database access.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
