"""Self-registration of citizens and organisations, and the verification of their contacts."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.common import run_command
from schema.context import Context
from schema.inputs.accounts import CitizenRegisterInput, OrganisationRegisterInput
from schema.payloads.accounts import AccountSaved, Done, DoneResult, Registered, RegisterResult, VerifyResult
from schema.types.accounts import Account
from services.accounts import registration


@strawberry.type
class RegistrationMutation:
    @strawberry.mutation(description="Công dân tự đăng ký tài khoản; mã xác thực được gửi tới liên hệ.")
    async def citizen_register(
        self, info: Info[Context, None], input: CitizenRegisterInput
    ) -> RegisterResult:
        ctx = info.context

        async def command(session: AsyncSession) -> Registered:
            data = registration.CitizenRegistration(
                citizen_id=input.citizen_id.strip(),
                full_name=input.full_name,
                birth_date=input.birth_date,
                password=input.password,
                email=input.email,
                phone=input.phone,
                address=input.address,
            )
            registered = await registration.register_citizen(
                session, data, journal=ctx.journal, policy=ctx.policy, today=ctx.today
            )
            return Registered(verification_sent_to=_sent_to(registered.email, registered.phone))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Tổ chức, doanh nghiệp tự đăng ký tài khoản.")
    async def organisation_register(
        self, info: Info[Context, None], input: OrganisationRegisterInput
    ) -> RegisterResult:
        ctx = info.context

        async def command(session: AsyncSession) -> Registered:
            data = registration.OrganisationRegistration(
                tax_code=input.tax_code,
                name=input.name,
                representative_name=input.representative_name,
                password=input.password,
                representative_citizen_id=input.representative_citizen_id,
                email=input.email,
                phone=input.phone,
                address=input.address,
            )
            registered = await registration.register_organisation(
                session, data, journal=ctx.journal, policy=ctx.policy
            )
            return Registered(verification_sent_to=_sent_to(registered.email, registered.phone))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Xác thực thư điện tử hoặc số điện thoại bằng mã đã gửi.")
    async def contact_verify(self, info: Info[Context, None], destination: str, code: str) -> VerifyResult:
        ctx = info.context

        async def command(session: AsyncSession) -> AccountSaved:
            account = await registration.verify_contact(
                session, destination, code, journal=ctx.journal, policy=ctx.policy
            )
            return AccountSaved(account=Account(row=account))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Gửi lại mã xác thực (không cho biết địa chỉ có tài khoản hay không).")
    async def contact_verification_resend(self, info: Info[Context, None], destination: str) -> DoneResult:
        ctx = info.context

        async def command(session: AsyncSession) -> Done:
            await registration.resend_verification(
                session, destination, journal=ctx.journal, policy=ctx.policy
            )
            return Done(ok=True)

        return await run_command(info, command)  # type: ignore[return-value]


def _sent_to(email: str | None, phone: str | None) -> list[str]:
    """Masked, so a screen shows where the code went without showing the whole address."""
    out = []
    if email:
        name, _, domain = email.partition("@")
        out.append(f"{name[:2]}***@{domain}")
    if phone:
        out.append(f"{phone[:5]}***{phone[-2:]}")
    return out
