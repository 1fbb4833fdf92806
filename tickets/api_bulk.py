"""Many tickets at once (issue 15): show_many, update_many and the job status it answers.

update_many is all or nothing (tickets.services.ticket_update_many) and answers the
reference's job status, already completed.
"""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supportcenter.bodies import BodySerializer, read_body
from supportcenter.errors import ServiceError
from supportcenter.pagination import PageQuery, paginate
from supportcenter.queries import QuerySerializer, read_query
from tickets import selectors, services
from tickets.api import ID_BOUNDS, TagsField, update_changes
from tickets.payloads import TicketError, TicketPage, ticket_payload
from tickets.models import TicketPriority, TicketStatus, TicketType, Via



# --- Many tickets at once: show_many, update_many and the job it answers -------------------
MAX_IDS = 100
IDS_PATTERN = r"^[0-9]{1,19}(,[0-9]{1,19}){0,%d}$" % (MAX_IDS - 1)
IDS_MESSAGE = f"Give up to {MAX_IDS} ticket ids, separated by commas: ids=1,2,3."
NO_SUCH_TICKET_MESSAGE = "There is no ticket {number} in this account."


def _ids_field(*, required: bool) -> serializers.RegexField:
    return serializers.RegexField(
        IDS_PATTERN, required=required, max_length=20 * MAX_IDS, error_messages={"invalid": IDS_MESSAGE},
        help_text=f"Ticket ids (numbers), comma-separated, at most {MAX_IDS}.",
    )


def _numbers(ids: str) -> list[int]:
    return list(dict.fromkeys(int(part) for part in ids.split(",")))


class ShowManyQuery(PageQuery):
    ids = _ids_field(required=True)


class UpdateManyQuery(QuerySerializer):
    ids = _ids_field(required=False)


class UpdateManyQuerySchema(QuerySerializer):
    """The schema's ``ids``: required for the documented ``{"ticket": ...}`` form (zenpy's
    ``{"tickets": [...]}`` form, without it, is described in the operation's text)."""

    ids = _ids_field(required=True)


class BulkTicketInput(BodySerializer):
    """What update_many changes on every ticket it names."""

    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = serializers.ChoiceField(
        choices=TicketPriority.choices, required=False, allow_null=True,
        error_messages={"invalid_choice": services.PRIORITY_INVALID_MESSAGE})
    type = serializers.ChoiceField(
        choices=TicketType.choices, required=False, allow_null=True,
        error_messages={"invalid_choice": services.TYPE_INVALID_MESSAGE})
    assignee_id = serializers.IntegerField(required=False, allow_null=True, help_text="Null unassigns.", **ID_BOUNDS)
    group_id = serializers.IntegerField(required=False, allow_null=True, **ID_BOUNDS)
    tags = TagsField(required=False, help_text="Replaces the tags.")
    additional_tags = TagsField(required=False, help_text="Added to each ticket's tags.")
    remove_tags = TagsField(required=False, help_text="Removed from each ticket's tags.")


class BulkTicketItemInput(BulkTicketInput):
    id = serializers.IntegerField(**ID_BOUNDS, help_text="The ticket's id (number).")


class UpdateManyEnvelope(BodySerializer):
    ticket = BulkTicketInput()


class UpdateManyListEnvelope(BodySerializer):
    tickets = serializers.ListField(child=BulkTicketItemInput(), min_length=1, max_length=MAX_IDS)


class JobResultOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The ticket's id.")
    action = serializers.CharField()
    success = serializers.BooleanField()
    status = serializers.CharField()


class JobStatusOutput(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.URLField()
    status = serializers.CharField(help_text='Always "completed": the work is done when the request answers.')
    total = serializers.IntegerField()
    progress = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)
    results = JobResultOutput(many=True)


class JobStatusEnvelope(serializers.Serializer):
    job_status = JobStatusOutput()


def job_payload(request: Request, job) -> dict:
    return {
        "id": str(job.pk),
        "url": request.build_absolute_uri(f"/api/v2/job_statuses/{job.pk}.json"),
        "status": job.status,
        "total": job.total,
        "progress": job.progress,
        "message": job.message,
        "results": job.results,
    }


class TicketShowManyView(APIView):
    @extend_schema(
        operation_id="tickets_show_many", parameters=[ShowManyQuery],
        responses={200: TicketPage, 400: TicketError}, summary="Show many tickets",
        description="The tickets of these ids; an id of no ticket of this account is simply absent.",
    )
    def get(self, request: Request) -> Response:
        account = request.account
        query = read_query(ShowManyQuery, request)
        tickets = selectors.ticket_many(account=account, numbers=_numbers(query["ids"]))
        if query["sort_order"] == "desc":
            tickets = tickets.order_by("-number")
        page = paginate(request, selectors.with_payload_relations(tickets), "tickets",
                        lambda t: ticket_payload(request, t))
        return Response(TicketPage(page).data)


class TicketUpdateManyView(APIView):
    @extend_schema(
        operation_id="tickets_update_many", parameters=[UpdateManyQuerySchema], request=UpdateManyEnvelope,
        responses={200: JobStatusEnvelope, 400: TicketError, 422: TicketError},
        summary="Update many tickets",
        description="`ids=1,2` with `{\"ticket\": {...}}` applies the same change to each; without `ids`, "
                    "`{\"tickets\": [{\"id\": 1, ...}, ...]}` gives each its own (what zenpy sends). All or "
                    "nothing: an id of no ticket of this account, or a refused change, refuses every one. "
                    "Answers a completed job.",
    )
    def put(self, request: Request) -> Response:
        account = request.account
        ids = read_query(UpdateManyQuery, request).get("ids")
        if ids is not None:
            data = read_body(UpdateManyEnvelope, request, "ticket")
            wanted = [(number, data) for number in _numbers(ids)]
            field = "ids"
        else:
            items = read_body(UpdateManyListEnvelope, request, "tickets")
            wanted = [(item["id"], item) for item in items]
            field = "tickets"
        found = {t.number: t for t in selectors.ticket_many(account=account, numbers=[n for n, _ in wanted])}
        updates = []
        for number, data in wanted:
            if number not in found:
                raise ServiceError(NO_SUCH_TICKET_MESSAGE.format(number=number), field=field)
            updates.append((found[number], update_changes(account, {k: v for k, v in data.items() if k != "id"})))
        job = services.ticket_update_many(account=account, actor=request.user, updates=updates, via=Via.API)
        return Response(JobStatusEnvelope({"job_status": job_payload(request, job)}).data)


JOB_ID = OpenApiParameter("job_id", str, OpenApiParameter.PATH, description="The job's id.")


class JobStatusView(APIView):
    @extend_schema(
        operation_id="job_status_show", parameters=[JOB_ID], responses={200: JobStatusEnvelope, 404: TicketError},
        summary="Show a job status",
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = None
        if job_id.isascii() and job_id.isdigit() and len(job_id) <= 19:
            job = selectors.access_job_status(account=request.account, job_id=int(job_id))
        if job is None:
            raise Http404
        return Response(JobStatusEnvelope({"job_status": job_payload(request, job)}).data)
