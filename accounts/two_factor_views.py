"""allauth.mfa views the project adjusts: removing a security key obeys the same rule as
deactivating the authenticator app (a user required to use two-factor sign-in keeps one)."""

from allauth.mfa.adapter import get_adapter
from allauth.mfa.webauthn.views import RemoveWebAuthnView as BaseRemoveWebAuthnView
from django.contrib import messages
from django.http import HttpResponseRedirect


class RemoveWebAuthnView(BaseRemoveWebAuthnView):
    def form_valid(self, form):
        adapter = get_adapter()
        if not adapter.can_delete_authenticator(self.get_object()):
            messages.error(self.request, adapter.error_messages["cannot_delete_authenticator"])
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


remove_webauthn = RemoveWebAuthnView.as_view()
