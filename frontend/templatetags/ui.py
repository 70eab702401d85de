"""The design system's template helpers: error summaries and field messages in the GOV.UK
pattern, and Bootstrap classes on Django widgets."""

from django import forms, template
from django.forms.formsets import BaseFormSet
from django.utils.translation import gettext as _

register = template.Library()

CHOICE_WIDGETS = (
    forms.Select,
    forms.RadioSelect,
    forms.CheckboxSelectMultiple,
    forms.NullBooleanSelect,
)


def _forms_in(context) -> list[forms.BaseForm]:
    found: list[forms.BaseForm] = []
    for value in context.flatten().values():
        if isinstance(value, forms.BaseForm):
            found.append(value)
        elif isinstance(value, BaseFormSet):
            found.extend(value.forms)
            found.append(value.management_form)
    return found


@register.simple_tag(takes_context=True)
def page_has_errors(context) -> bool:
    """True when a bound form on the page has errors: the title then starts with "Error:"."""
    for form in _forms_in(context):
        if form.is_bound and form.errors:
            return True
    return False


def _lower_first(label: str) -> str:
    """ "Mobile number" -> "mobile number" inside a sentence; "SMS code" stays."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def field_messages(bound_field) -> list[str]:
    """The field's errors, the generic "This field is required." replaced by what to do, in
    the field's own words ("Enter your mobile number", "Choose the service")."""
    data = bound_field.form.errors.as_data().get(bound_field.name, [])
    messages = []
    for error in data:
        for item in error.error_list if hasattr(error, "error_list") else [error]:
            # Only Django's generic wording is replaced; a form's own message stays.
            generic = str(forms.Field.default_error_messages["required"])
            if item.code == "required" and str(next(iter(item), "")) == generic:
                label = _lower_first(str(bound_field.label or bound_field.name))
                if isinstance(bound_field.field.widget, CHOICE_WIDGETS) or isinstance(
                    bound_field.field, (forms.ChoiceField, forms.ModelChoiceField)
                ):
                    messages.append(_("Choose %(label)s") % {"label": label})
                elif isinstance(bound_field.field.widget, forms.CheckboxInput):
                    messages.append(_("Tick the box: %(label)s") % {"label": label})
                elif isinstance(bound_field.field.widget, forms.ClearableFileInput):
                    messages.append(_("Attach %(label)s") % {"label": label})
                else:
                    messages.append(_("Enter %(label)s") % {"label": label})
            else:
                messages.extend(str(m) for m in item.messages)
    if not data and bound_field.errors:
        messages = [str(e) for e in bound_field.errors]
    return messages


@register.filter
def messages_for(bound_field) -> list[str]:
    return field_messages(bound_field)


@register.inclusion_tag("includes/error_summary.html")
def error_summary(*forms_) -> dict:
    """{% error_summary form other_form %}: a linked list of every problem, focused on load."""
    items = []
    for form in forms_:
        if form is None or not getattr(form, "is_bound", False) or not form.errors:
            continue
        for message in form.non_field_errors():
            items.append({"message": message, "href": ""})
        for field in form:
            if field.errors and not field.is_hidden:
                # a group of choices has no single label: the link goes to its first choice
                grouped = isinstance(
                    field.field.widget, (forms.RadioSelect, forms.CheckboxSelectMultiple)
                )
                target = f"{field.auto_id}_0" if grouped else field.id_for_label or field.auto_id
                for message in field_messages(field):
                    items.append({"message": message, "href": f"#{target}"})
        for name in form.errors:
            if name != "__all__" and name not in form.fields:
                items.extend({"message": m, "href": ""} for m in form.errors[name])
            elif name in form.fields and form[name].is_hidden:
                items.extend({"message": m, "href": ""} for m in form.errors[name])
    return {"items": items}


def widget_class(widget) -> str:
    if isinstance(widget, (forms.RadioSelect, forms.CheckboxSelectMultiple)):
        return ""
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, (forms.Select, forms.NullBooleanSelect)):
        return "form-select"
    if isinstance(widget, forms.HiddenInput):
        return ""
    return "form-control"


@register.filter
def bs(bound_field):
    """Render a widget with Bootstrap's class, its error/help tied to it for screen readers."""
    described = []
    css = widget_class(bound_field.field.widget)
    existing = bound_field.field.widget.attrs.get("class", "")
    attrs = {}
    if css and css not in existing.split():
        attrs["class"] = f"{existing} {css}".strip()
    if bound_field.help_text:
        described.append(f"{bound_field.auto_id}_helptext")
    if bound_field.errors:
        described.append(f"{bound_field.auto_id}_error")
        attrs["aria-invalid"] = "true"
        if css:
            attrs["class"] = f"{attrs.get('class', existing)} is-invalid".strip()
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if bound_field.field.required and not isinstance(
        bound_field.field.widget, forms.CheckboxSelectMultiple
    ):
        attrs["required"] = True
    return bound_field.as_widget(attrs=attrs)
