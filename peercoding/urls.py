from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from transcripts.middleware import second_factor_not_required

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    # An unverified user (password given, code not yet) may still log out.
    path("logout/", second_factor_not_required(auth_views.LogoutView.as_view()), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("transcripts.urls")),
]
