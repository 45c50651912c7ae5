"""WSGI entry point: `gunicorn peercoding.wsgi`."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peercoding.settings")
application = get_wsgi_application()
