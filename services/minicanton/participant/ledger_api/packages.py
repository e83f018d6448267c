"""PackageService (any authenticated caller) and PackageManagementService (admins).

A package's archive payload is its Python source and its hash the package id (SHA-256 of the
source). UploadDarFile takes a minicanton package archive (codec/package_archive.py: one
source, or a zip with a manifest) and hands its packages to the node's `PackageUploader`,
which loads, stores and vets them.
"""

from __future__ import annotations

import uuid

import grpc

from minicanton.codec.gen.com.daml.ledger.api.v1 import package_service_pb2 as package_pb2
from minicanton.codec.gen.com.daml.ledger.api.v1 import (
    package_service_pb2_grpc as package_grpc,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    package_management_service_pb2 as management_pb2,
)
from minicanton.codec.gen.com.daml.ledger.api.v1.admin import (
    package_management_service_pb2_grpc as management_grpc,
)
from minicanton.codec.package_archive import read_package_archive
from minicanton.participant.ledger_api.errors import LedgerApiError, missing_field
from minicanton.participant.ledger_api.events import timestamp
from minicanton.participant.ledger_api.rpc import LedgerApiService, unary


class PackageService(LedgerApiService, package_grpc.PackageServiceServicer):
    @unary()
    async def ListPackages(self, request: package_pb2.ListPackagesRequest,
                           context: grpc.aio.ServicerContext
                           ) -> package_pb2.ListPackagesResponse:
        await self.claims(context)
        self.check_ledger_id(request.ledger_id)
        rows = await self.backend.admin.list_packages()
        return package_pb2.ListPackagesResponse(package_ids=[r.package_id for r in rows])

    @unary()
    async def GetPackage(self, request: package_pb2.GetPackageRequest,
                         context: grpc.aio.ServicerContext) -> package_pb2.GetPackageResponse:
        await self.claims(context)
        self.check_ledger_id(request.ledger_id)
        if not request.package_id:
            raise missing_field("package_id")
        row = await self.backend.admin.get_package(request.package_id)
        if row is None:
            raise LedgerApiError("PACKAGE_NOT_FOUND", "Could not find package.",
                                 package_id=request.package_id)
        return package_pb2.GetPackageResponse(
            hash_function=package_pb2.SHA256, archive_payload=row.source, hash=row.package_id)

    @unary()
    async def GetPackageStatus(self, request: package_pb2.GetPackageStatusRequest,
                               context: grpc.aio.ServicerContext
                               ) -> package_pb2.GetPackageStatusResponse:
        await self.claims(context)
        self.check_ledger_id(request.ledger_id)
        if not request.package_id:
            raise missing_field("package_id")
        known = await self.backend.admin.get_package(request.package_id) is not None
        status = package_pb2.REGISTERED if known else package_pb2.UNKNOWN
        return package_pb2.GetPackageStatusResponse(package_status=status)


class PackageManagementService(LedgerApiService,
                               management_grpc.PackageManagementServiceServicer):
    @unary()
    async def ListKnownPackages(self, request: management_pb2.ListKnownPackagesRequest,
                                context: grpc.aio.ServicerContext
                                ) -> management_pb2.ListKnownPackagesResponse:
        await self.admin_claims(context)
        rows = await self.backend.admin.list_packages()
        return management_pb2.ListKnownPackagesResponse(package_details=[
            management_pb2.PackageDetails(
                package_id=r.package_id, package_size=len(r.source),
                known_since=timestamp(r.uploaded_at_us), source_description=r.name)
            for r in rows
        ])

    @unary()
    async def UploadDarFile(self, request: management_pb2.UploadDarFileRequest,
                            context: grpc.aio.ServicerContext
                            ) -> management_pb2.UploadDarFileResponse:
        await self.admin_claims(context)
        archive = read_package_archive(request.dar_file)
        submission_id = request.submission_id or str(uuid.uuid4())
        await self.backend.package_uploader.upload_packages(archive, submission_id)
        return management_pb2.UploadDarFileResponse()
