"""The employee's own calendar page: list, add, edit, delete."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from appointments import selectors, services
from appointments.forms import AppointmentForm
from core.converters import parse_id
from frontend.forms import apply_service_errors
from tenants.decorators import workspace_view
from tenants.urls_helpers import workspace_reverse


@workspace_view()
def calendar_view(request):
    membership = request.membership
    form = AppointmentForm(request.POST if request.POST.get("form") == "create" else None)
    if request.method == "POST":
        if request.POST.get("form") == "delete":
            appointment = selectors.appointment_of(
                membership=membership, appointment_id=parse_id(request.POST.get("appointment", ""))
            )
            if appointment is None:
                raise Http404
            services.appointment_delete(actor=membership, appointment=appointment)
            messages.success(request, _("The appointment was deleted."))
            return redirect(workspace_reverse(request, "workspace:calendar"))
        if form.is_valid():
            data = form.cleaned_data
            about = None
            named = form.named_source()
            if named is not None:
                source, text = named
                about = source.find(
                    agency=request.agency, membership=membership, user=request.user, text=text
                )
                if about is None:
                    form.add_error(source.field, source.not_found)
            if not form.errors:
                try:
                    services.appointment_add(
                        actor=membership,
                        title=data["title"],
                        starts_at=data["starts_at"],
                        ends_at=data["ends_at"],
                        remind_minutes_before=data["remind_minutes_before"],
                        about=about,
                        notes=data["notes"],
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    messages.success(request, _("The appointment was added."))
                    return redirect(workspace_reverse(request, "workspace:calendar"))
    return render(
        request,
        "appointments/calendar.html",
        {"form": form, "appointments": selectors.upcoming_appointments(membership=membership)},
    )


@workspace_view()
def appointment_edit(request, appointment_id: int):
    appointment = selectors.appointment_of(
        membership=request.membership, appointment_id=appointment_id
    )
    if appointment is None:
        raise Http404
    form = AppointmentForm(
        request.POST or None,
        with_sources=False,
        initial={
            "title": appointment.title,
            "starts_at": appointment.starts_at,
            "ends_at": appointment.ends_at,
            "remind_minutes_before": appointment.remind_minutes_before,
            "notes": appointment.notes,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.appointment_edit(
                actor=request.membership,
                appointment=appointment,
                title=data["title"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                remind_minutes_before=data["remind_minutes_before"],
                notes=data["notes"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The appointment was changed."))
            return redirect(workspace_reverse(request, "workspace:calendar"))
    return render(
        request, "appointments/appointment_edit.html", {"form": form, "appointment": appointment}
    )
