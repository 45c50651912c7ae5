from django.urls import path

from . import views

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("projects/<slug:slug>/", views.project_detail, name="project_detail"),
    path("projects/<slug:slug>/settings/", views.project_settings, name="project_settings"),
    path("projects/<slug:slug>/import/", views.import_transcripts, name="import_transcripts"),
    path("projects/<slug:slug>/participants/", views.participant_list, name="participant_list"),
    path("projects/<slug:slug>/participants/add/", views.participant_create, name="participant_create"),
    path("projects/<slug:slug>/participants/sheet/", views.participant_sheet_preview, name="participant_sheet_preview"),
    path("projects/<slug:slug>/participants/sheet/import/", views.participant_sheet_import, name="participant_sheet_import"),
    path("projects/<slug:slug>/pseudonyms/", views.pseudonym_list, name="pseudonym_list"),
    path("projects/<slug:slug>/pseudonyms/<int:pseudonym_id>/delete/", views.pseudonym_delete, name="pseudonym_delete"),
    path("projects/<slug:slug>/codes.css", views.codes_css, name="codes_css"),
    path("transcripts/<int:transcript_id>/", views.transcript_detail, name="transcript_detail"),
    path("transcripts/<int:transcript_id>/state/", views.transcript_state, name="transcript_state"),
    path("transcripts/<int:transcript_id>/excerpts/", views.excerpt_create, name="excerpt_create"),
    path("transcripts/<int:transcript_id>/undo/", views.coding_undo, name="coding_undo"),
    path("excerpts/<int:excerpt_id>/", views.excerpt_detail, name="excerpt_detail"),
    path("excerpts/<int:excerpt_id>/edit/", views.excerpt_update, name="excerpt_update"),
    path("excerpts/<int:excerpt_id>/delete/", views.excerpt_delete, name="excerpt_delete"),
    path("transcripts/<int:transcript_id>/speakers/", views.transcript_speakers, name="transcript_speakers"),
    path("transcripts/<int:transcript_id>/deidentify/", views.transcript_deidentify, name="transcript_deidentify"),
    path("transcripts/<int:transcript_id>/delete/", views.transcript_delete, name="transcript_delete"),
]
