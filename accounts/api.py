"""API of accounts: token login and logout, and `/api/v1/me/`."""

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from chu_portal.errors import ServiceError
from chu_portal.schema import Instant, responses

from . import second_factor
from .models import ApiToken, Role
from .throttling import TokenThrottle
from .views import lockout_response


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    # Required for professionals, the DPO and admins (TOTP or a backup code); optional for patients.
    otp = serializers.CharField(max_length=12, required=False, allow_blank=True)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires = Instant()


class MyRepresentationSerializer(serializers.Serializer):
    """A person the caller acts for now (a parent, a guardian, a trusted representative)."""

    id = serializers.UUIDField(source="public_id")
    patient_id = serializers.UUIDField(source="patient.public_id")
    patient_name = serializers.CharField(source="patient.display_name")
    kind = serializers.ChoiceField(choices=["parent", "guardian", "trusted"])
    relation = serializers.CharField(source="relation_label")
    starts = Instant()
    ends = Instant(allow_null=True)
    read_only = serializers.SerializerMethodField()

    def get_read_only(self, representation) -> bool:
        return representation.kind == "trusted"


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    username = serializers.CharField()
    name = serializers.CharField(source="display_name")
    role = serializers.ChoiceField(choices=Role.choices)
    patient_id = serializers.SerializerMethodField()
    rpps = serializers.CharField(allow_null=True)
    representations = serializers.SerializerMethodField()

    @extend_schema_field(MyRepresentationSerializer(many=True))
    def get_representations(self, user) -> list:
        """The people the caller represents now (the related manager's `in_force`, records' one definition)."""
        if user.role != Role.PATIENT:
            return []
        current = user.representations.in_force().select_related("patient").order_by("starts")
        return MyRepresentationSerializer(current, many=True).data

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_patient_id(self, user) -> str | None:
        patient = getattr(user, "patient", None) if user.role == Role.PATIENT else None
        return str(patient.public_id) if patient else None


@extend_schema(
    tags=["auth"],
    request=TokenRequestSerializer,
    responses=responses({200: TokenResponseSerializer}, 400, 401, 429),
    auth=[],
)
class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [TokenThrottle]

    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if getattr(request._request, "axes_locked_out", False):
            return lockout_response(request._request)
        # One answer for every failure: a wrong password, a missing or a wrong code alike, so that
        # the answer never says the password was right (no password oracle behind the second factor).
        failed = ServiceError(
            _(
                "Identifiant, mot de passe ou code du second facteur incorrect (les professionnels "
                "joignent le code de leur application, champ otp)."
            ),
            code="not_authenticated",
            status=401,
        )
        if user is None:
            raise failed
        if second_factor.required_for(user):
            otp = serializer.validated_data.get("otp", "")
            if not otp or second_factor.verify(user, otp) is None:
                # Counted by django-axes like a wrong password: the code cannot be tried without end.
                user_login_failed.send(
                    sender=__name__, credentials={"username": user.get_username()}, request=request._request
                )
                raise failed
        token, raw = ApiToken.issue(user)
        return Response(
            TokenResponseSerializer({"token": raw, "expires": token.expires}).data, status=status.HTTP_200_OK
        )


@extend_schema(
    tags=["auth"], request=None, responses=responses({204: OpenApiResponse(description="Token revoked.")}, 401)
)
class LogoutView(APIView):
    def post(self, request):
        token = getattr(request, "api_token", None)
        if token is not None:
            ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"], responses=responses({200: MeSerializer}, 401))
class MeView(APIView):
    def get(self, request):
        return Response(MeSerializer(request.user).data)
