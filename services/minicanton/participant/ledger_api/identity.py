"""VersionService and LedgerIdentityService: what this Ledger API is, for any valid token.

The version is the Daml Ledger API release whose v1 protos ours follow; the features say
that user management is supported and give our page and rights limits.
"""

from __future__ import annotations

import grpc

from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    experimental_features_pb2 as experimental_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    ledger_identity_service_pb2 as identity_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    ledger_identity_service_pb2_grpc as identity_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1 import version_service_pb2 as version_pb2
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    version_service_pb2_grpc as version_grpc,
)
from minicanton.participant.ledger_api.paging import MAX_PAGE_SIZE
from minicanton.participant.ledger_api.rpc import LedgerApiService, unary
from minicanton.participant.ledger_api.users import MAX_RIGHTS_PER_USER

LEDGER_API_VERSION = "2.8.0"


class VersionService(LedgerApiService, version_grpc.VersionServiceServicer):
    @unary()
    async def GetLedgerApiVersion(self, request: version_pb2.GetLedgerApiVersionRequest,
                                  context: grpc.aio.ServicerContext
                                  ) -> version_pb2.GetLedgerApiVersionResponse:
        await self.claims(context)
        self.check_ledger_id(request.ledger_id)
        features = version_pb2.FeaturesDescriptor(
            user_management=version_pb2.UserManagementFeature(
                supported=True, max_rights_per_user=MAX_RIGHTS_PER_USER,
                max_users_page_size=MAX_PAGE_SIZE),
            party_management=version_pb2.PartyManagementFeature(
                max_parties_page_size=MAX_PAGE_SIZE),
            experimental=experimental_pb2.ExperimentalFeatures(),
        )
        return version_pb2.GetLedgerApiVersionResponse(version=LEDGER_API_VERSION,
                                                       features=features)


class LedgerIdentityService(LedgerApiService, identity_grpc.LedgerIdentityServiceServicer):
    @unary()
    async def GetLedgerIdentity(self, request: identity_pb2.GetLedgerIdentityRequest,
                                context: grpc.aio.ServicerContext
                                ) -> identity_pb2.GetLedgerIdentityResponse:
        await self.claims(context)
        return identity_pb2.GetLedgerIdentityResponse(ledger_id=self.backend.ledger_id)
