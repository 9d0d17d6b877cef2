"""Routes for the retention programs setting: read it, replace it against the version read."""

from api_guard import BEARER
from api_schemas import ProgramsUpdate, ProgramsView, programs_view
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from tenure import bootstrap
from tenure.domain.programs import Programs
from tenure.services import programs

router = APIGatewayHttpRouter()


@router.get("/v1/programs", security=BEARER, tags=["programs"])
def get_programs() -> ProgramsView:
    """The programs document and its `version` (0, every program off, until the first PUT).
    A section that is absent is a program that is off. Read from the table at each call, so a
    GET right after a PUT served by another container shows the new version."""
    return programs_view(programs.read_current_programs(bootstrap.wiring().services))


@router.put("/v1/programs", security=BEARER, tags=["programs"])
def put_programs(body: ProgramsUpdate) -> ProgramsView:
    """Replace the whole programs document. `version` is the version it replaces (the one
    GET returned; 0 for the first write): when another write came first the answer is 409
    and nothing changes, so two editors never silently overwrite each other. The answer
    carries the new version. An offer naming an unknown coupon or plan is a 422."""
    svc = bootstrap.wiring().services
    document = Programs.model_validate(body.model_dump(exclude={"version"}))
    return programs_view(programs.put_programs(svc, document, body.version))
