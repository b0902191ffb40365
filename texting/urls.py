from __future__ import annotations

from django.urls import path

from texting import views

app_name = "texter"

urlpatterns = [
    path("", views.todo_list, name="todos"),
]
