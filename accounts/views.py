from django.core.exceptions import PermissionDenied
from django.views.generic import DetailView, ListView

from accounts import selectors
from accounts.models import Account
from kam import access


class AccountListView(ListView):
    template_name = "accounts/account_list.html"
    context_object_name = "accounts"
    paginate_by = 50

    def get_queryset(self):
        if not access.may_list_accounts(self.request.user):
            raise PermissionDenied
        self.filterset = selectors.account_filterset(user=self.request.user, data=self.request.GET)
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        return super().get_context_data(filterset=self.filterset, **kwargs)


class AccountDetailView(DetailView):
    template_name = "accounts/account_detail.html"
    context_object_name = "account"

    def get_object(self, queryset=None) -> Account:
        return selectors.account_get(user=self.request.user, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            can_edit=access.can_edit(self.request.user, self.object), **kwargs
        )
