from __future__ import annotations

from django.urls import path

from texting import views

app_name = "texter"

urlpatterns = [
    path("", views.todo_list, name="todos"),
    path("cards/", views.todo_cards, name="todo_cards"),
    path("assignments/<int:assignment_id>/send/", views.send_screen, name="send"),
    path("assignments/<int:assignment_id>/send/next/", views.send_next, name="send_next"),
    path("assignments/<int:assignment_id>/replies/", views.replies_screen, name="replies"),
    path("assignments/<int:assignment_id>/replies/next/", views.replies_next, name="replies_next"),
    path("assignments/<int:assignment_id>/counts/", views.assignment_counts, name="counts"),
    path("assignments/<int:assignment_id>/past/", views.past_list, name="past"),
    path("assignments/<int:assignment_id>/skipped/", views.skipped_list, name="skipped"),
    path("assignments/<int:assignment_id>/request-more/", views.request_more, name="request_more"),
    path("assignments/<int:assignment_id>/done-for-today/", views.done_for_today, name="done_for_today"),
    path("join/<uuid:token>/", views.join_campaign, name="join"),
    path("contacts/<int:contact_id>/", views.conversation, name="conversation"),
    path("contacts/<int:contact_id>/thread/", views.conversation_thread, name="thread"),
    path("contacts/<int:contact_id>/send/", views.contact_send, name="contact_send"),
    path("contacts/<int:contact_id>/answer/", views.contact_answer, name="contact_answer"),
    path("contacts/<int:contact_id>/optout/", views.contact_optout, name="contact_optout"),
    path("contacts/<int:contact_id>/skip/", views.contact_skip, name="contact_skip"),
    path("contacts/<int:contact_id>/tags/", views.contact_tags, name="contact_tags"),
]
