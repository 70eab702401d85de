from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from tenants.models import Agency, slug_validator
from tenants.permissions import (
    permission_choices,
    permission_groups,
    permission_help,
    permission_labels,
)
from tenants.staff.models import Department, Role


class AgencyOnboardForm(forms.Form):
    slug = forms.CharField(
        label=_("Short name in the address"),
        max_length=40,
        validators=[slug_validator],
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )
    code = forms.CharField(
        label=_("Reference code"),
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )
    name_ar = forms.CharField(label=_("Name in Arabic"), max_length=200)
    name_en = forms.CharField(
        label=_("Name in English"),
        max_length=200,
        widget=forms.TextInput(attrs={"dir": "ltr", "lang": "en"}),
    )
    admin_email = forms.EmailField(
        label=_("First admin's email"), widget=forms.EmailInput(attrs={"dir": "ltr"})
    )

    def clean_slug(self):
        slug = self.cleaned_data["slug"].lower()
        if Agency.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("This short name is already taken."))
        return slug


def grantable_roles(actor_perms: set[str]):
    """Roles whose every permission the actor holds: the ones they may give (the services
    enforce the same rule; forms only avoid offering what would be refused)."""
    return Role.objects.filter(permissions__contained_by=sorted(actor_perms)).order_by("id")


def placeable_departments(scope: list[int] | None):
    """Active departments the actor may place people in: all of them for an unscoped actor,
    else those of their subtree (tenants.services refuses the others, and "no department")."""
    qs = Department.objects.filter(is_active=True)
    return qs if scope is None else qs.filter(pk__in=scope)


class PermissionCheckboxes(forms.CheckboxSelectMultiple):
    """Permission checkboxes grouped by area: one fieldset per area with its legend, each
    permission a stacked ``form-check`` with its label and, when it has one, a line of help.

    The field's choices stay the flat ``(codename, label)`` list; the widget groups them."""

    template_name = "tenants/widgets/permission_checkboxes.html"
    option_template_name = "tenants/widgets/permission_option.html"

    def optgroups(self, name, value, attrs=None):
        flat = list(self.choices)
        labels = dict(flat)
        grouped = [
            (area.label, [(code, labels[code]) for code in codes])
            for area, codes in permission_groups(labels)
        ]
        self.choices = grouped
        try:
            return super().optgroups(name, value, attrs)
        finally:
            self.choices = flat

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["help"] = permission_help().get(str(value), "")
        option["attrs"]["class"] = "form-check-input"
        if option["help"]:
            described = option["attrs"].get("aria-describedby", "")
            help_id = f"{option['attrs']['id']}_help"
            option["attrs"]["aria-describedby"] = f"{described} {help_id}".strip()
        return option


def _code_choices(codes: set[str]) -> list[tuple[str, str]]:
    return [(code, label) for code, label in permission_labels().items() if code in codes]


class DepartmentForm(forms.Form):
    name_ar = forms.CharField(label=_("Name in Arabic"), max_length=200)
    name_en = forms.CharField(
        label=_("Name in English"),
        max_length=200,
        widget=forms.TextInput(attrs={"dir": "ltr", "lang": "en"}),
    )
    parent = forms.ModelChoiceField(
        label=_("Parent department"), required=False, queryset=Department.objects.none()
    )

    def __init__(self, *args, exclude_pk=None, scope: list[int] | None = None, **kwargs):
        """``scope``: the actor's departments (None: all). A scoped actor is offered parents
        inside it only (plus the current parent of the department edited, which may stay)."""
        super().__init__(*args, **kwargs)
        qs = Department.objects.order_by("name_ar")
        if scope is not None:
            current = self.initial.get("parent")
            keep = [current.pk] if current is not None else []
            qs = qs.filter(pk__in=[*scope, *keep])
            # Creating: a parent is required; editing a top-level department: empty keeps it.
            self.fields["parent"].required = exclude_pk is None or current is not None
        if exclude_pk:
            qs = qs.exclude(pk=exclude_pk)
        self.fields["parent"].queryset = qs


class PersonNamesForm(forms.Form):
    """A person's names in Arabic and English, all optional (invitation and its acceptance)."""

    first_name_ar = forms.CharField(label=_("First name (Arabic)"), max_length=60, required=False)
    family_name_ar = forms.CharField(label=_("Family name (Arabic)"), max_length=60, required=False)
    first_name_en = forms.CharField(
        label=_("First name (English)"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )
    family_name_en = forms.CharField(
        label=_("Family name (English)"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )

    def names(self) -> dict[str, str]:
        return {
            k: self.cleaned_data[k]
            for k in ("first_name_ar", "family_name_ar", "first_name_en", "family_name_en")
            if self.cleaned_data.get(k)
        }


class EmployeeInviteForm(PersonNamesForm):
    field_order = ["email"]

    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"dir": "ltr"}))
    title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    department = forms.ModelChoiceField(
        label=_("Department"), required=False, queryset=Department.objects.none()
    )
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"),
        required=False,
        queryset=Role.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, actor_perms: set[str], scope: list[int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = placeable_departments(scope)
        self.fields["department"].required = scope is not None
        self.fields["roles"].queryset = grantable_roles(actor_perms)


class EmployeeEditForm(forms.Form):
    title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    department = forms.ModelChoiceField(
        label=_("Department"), required=False, queryset=Department.objects.none()
    )
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"),
        required=False,
        queryset=Role.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(
        self, *args, actor_perms: set[str], membership, scope: list[int] | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = placeable_departments(scope)
        self.fields["department"].required = scope is not None
        current = [role.pk for role in membership.roles.all()]
        # Roles the actor may give, plus the ones already held (shown; the services refuse what
        # the actor may not change).
        self.fields["roles"].queryset = (
            grantable_roles(actor_perms) | Role.objects.filter(pk__in=current)
        ).order_by("id")


class PermissionGrantForm(forms.Form):
    granted = forms.MultipleChoiceField(
        label=_("Granted in addition to roles"),
        required=False,
        choices=permission_choices,
        widget=PermissionCheckboxes,
    )
    revoked = forms.MultipleChoiceField(
        label=_("Refused even if a role gives it"),
        required=False,
        choices=permission_choices,
        widget=PermissionCheckboxes,
    )

    def __init__(self, *args, actor_perms: set[str], membership, **kwargs):
        super().__init__(*args, **kwargs)
        # What the actor holds, plus what is already set (shown; changing it is refused).
        codes = (
            set(actor_perms)
            | set(membership.granted_permissions)
            | set(membership.revoked_permissions)
        )
        for name in ("granted", "revoked"):
            self.fields[name].choices = _code_choices(codes)


class RoleForm(forms.Form):
    """A role's names and permissions. Its code is not asked: the service derives it from the
    name when the role is created, and it never changes."""

    name_ar = forms.CharField(label=_("Name in Arabic"), max_length=200)
    name_en = forms.CharField(
        label=_("Name in English"),
        max_length=200,
        widget=forms.TextInput(attrs={"dir": "ltr", "lang": "en"}),
    )
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"),
        required=False,
        choices=permission_choices,
        widget=PermissionCheckboxes,
    )

    def __init__(self, *args, actor_perms: set[str], role=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.role = role
        codes = set(actor_perms)
        if role is not None:
            codes |= set(role.permissions)
        self.fields["permissions"].choices = _code_choices(codes)


class InvitationAccountForm(PersonNamesForm):
    """The invited person creates their account from the invitation link."""

    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "dir": "ltr"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label=_("New password confirmation"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "dir": "ltr"}),
    )

    def clean(self):
        data = super().clean()
        first, second = data.get("new_password1"), data.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("The two password fields didn’t match."))
        return data


class AgencySecurityForm(forms.Form):
    requires_two_factor = forms.BooleanField(
        label=_("Require two-factor sign-in for all staff of this agency"),
        required=False,
        help_text=_(
            "Staff without an authenticator app or a security key will be asked to set one up "
            "before they can use the workspace."
        ),
    )
