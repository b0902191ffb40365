"""The join page (a person opening an invite link joins the organization with the invited role),
the throttled login page and "log out everywhere"."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.forms import THROTTLED, ThrottledAuthenticationForm
from accounts.models import ORGANIZER_ROLES, User
from accounts.services import invite_accept, invite_get_usable, user_create, user_sessions_end
from core.errors import ApplicationError


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"}),
    )
    first_name = forms.CharField(
        label="First name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label="Last name (optional)",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    password = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text="At least 8 characters; not a common password or all numbers.",
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(
                "There is already an account with this email: log in first, then open the link again."
            )
        return email

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        password = data.get("password")
        if isinstance(password, str):
            user = User(email=data.get("email", ""), first_name=data.get("first_name", ""))
            try:
                validate_password(password, user)
            except ValidationError as error:
                self.add_error("password", error)
        return data


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invite = invite_get_usable(token=token)
    except ApplicationError as error:
        return render(request, "accounts/join.html", {"error": error.message}, status=error.status)
    form = SignUpForm(initial={"email": invite.email})
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                assert isinstance(request.user, User)
                membership = invite_accept(token=token, user=request.user)
            else:
                form = SignUpForm(request.POST)
                if not form.is_valid():
                    context = {"invite": invite, "form": form, "login_url": _login_url(request)}
                    return render(request, "accounts/join.html", context, status=400)
                with transaction.atomic():
                    user = user_create(
                        email=form.cleaned_data["email"],
                        password=form.cleaned_data["password"],
                        first_name=form.cleaned_data["first_name"],
                        last_name=form.cleaned_data["last_name"],
                    )
                    membership = invite_accept(token=token, user=user)
                login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        except ApplicationError as error:
            return render(request, "accounts/join.html", {"error": error.message}, status=error.status)
        return redirect("/admin/" if membership.role in ORGANIZER_ROLES else "/texter/")
    context = {"invite": invite, "form": form, "login_url": _login_url(request)}
    return render(request, "accounts/join.html", context)


def _login_url(request: HttpRequest) -> str:
    """Log in, then land back on this join page."""
    return f"{reverse('login')}?next={request.path}"


class LoginView(auth_views.LoginView):
    """Django's login page with throttled attempts: a locked account or address answers 429."""

    form_class = ThrottledAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form: ThrottledAuthenticationForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_invalid(form)
        if any(error.code == THROTTLED for error in form.non_field_errors().as_data()):
            response.status_code = 429
        return response


@login_required
@require_http_methods(["POST"])
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session of this user (other browsers and phones included) and their open pages."""
    assert isinstance(request.user, User)
    user_sessions_end(user=request.user)
    logout(request)
    messages.success(request, "You are logged out everywhere. Log in again on the devices you use.")
    return redirect("login")
