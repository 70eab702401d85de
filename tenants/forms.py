from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.models import Agency, slug_validator
from tenants.permissions import permission_choices
from tenants.staff.models import Department, Role


class AgencyOnboardForm(forms.Form):
    slug = forms.CharField(
        label=_("Slug (in the address)"),
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
            raise forms.ValidationError(_("This slug is already taken."))
        return slug


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

    def __init__(self, *args, exclude_pk=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = Department.objects.order_by("name_ar")
        if exclude_pk:
            qs = qs.exclude(pk=exclude_pk)
        self.fields["parent"].queryset = qs


class EmployeeInviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"dir": "ltr"}))
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(is_active=True)
        self.fields["roles"].queryset = Role.objects.order_by("id")


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(is_active=True)
        self.fields["roles"].queryset = Role.objects.order_by("id")


class PermissionGrantForm(forms.Form):
    granted = forms.MultipleChoiceField(
        label=_("Granted in addition to roles"),
        required=False,
        choices=permission_choices,
        widget=forms.CheckboxSelectMultiple,
    )
    revoked = forms.MultipleChoiceField(
        label=_("Refused even if a role gives it"),
        required=False,
        choices=permission_choices,
        widget=forms.CheckboxSelectMultiple,
    )


class RoleForm(forms.Form):
    codename = forms.SlugField(
        label=_("Code"), max_length=50, widget=forms.TextInput(attrs={"dir": "ltr"})
    )
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
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, role=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.role = role
        if role is not None:
            self.fields["codename"].disabled = True

    def clean_codename(self):
        codename = self.cleaned_data["codename"]
        if self.role is None and Role.objects.filter(codename=codename).exists():
            raise forms.ValidationError(_("A role with this code already exists."))
        return codename


class AgencySecurityForm(forms.Form):
    requires_two_factor = forms.BooleanField(
        label=_("Require two-factor sign-in for all staff of this agency"),
        required=False,
        help_text=_(
            "Staff without an authenticator app or a security key will be asked to set one up "
            "before they can use the workspace."
        ),
    )
