import factory
from django.contrib.auth.models import Group

from accounts.models import Account, AccountTeamMember, Industry, Region, TeamRole
from kam.models import Job, User

TEST_PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="de_DE")
    last_name = factory.Faker("last_name", locale="de_DE")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            # get_or_create: transactional tests flush the groups the data migration made.
            self.groups.set([Group.objects.get_or_create(name=role.value)[0] for role in extracted])


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Muster {n} GmbH")
    erp_number = factory.Sequence(lambda n: f"T{n:06d}")
    industry = Industry.MECHANICAL_ENGINEERING
    region = Region.SOUTH
    country = "DE"


class TeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountTeamMember

    account = factory.SubFactory(AccountFactory)
    user = factory.SubFactory(UserFactory)
    role = TeamRole.SALES


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    kind = Job.Kind.SYSTEM_CHECK
    created_by = factory.SubFactory(UserFactory)
