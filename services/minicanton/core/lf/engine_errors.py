"""The engine's typed errors, each with Daml's error id.

==================================  ===========================================================
error_id                            raised when
==================================  ===========================================================
TEMPLATE_NOT_FOUND                  the template reference names no known template
AMBIGUOUS_TEMPLATE                  ``module:Entity`` is defined by several packages
CHOICE_NOT_FOUND                    the template has no such choice
INVALID_ARGUMENT                    a value has the wrong type (`ValueTypeError`, with `path`),
                                    a template has no key but one is used, bad command shape
FAILED_AUTHORIZATION                a required party did not authorize (`missing` names them)
UNHANDLED_EXCEPTION                 ``ctx.assert_`` failed (`AssertionFailed`, with the message)
                                    or a body raised a Python error (`UnhandledException`)
CONTRACT_NOT_FOUND                  no such contract, or not visible to the submitters
CONTRACT_NOT_ACTIVE                 the contract was archived earlier in this transaction
CONTRACT_KEY_NOT_FOUND              no visible active contract has this key
DUPLICATE_CONTRACT_KEY              creating a second active contract with the same key
TEMPLATE_PRECONDITION_VIOLATED      ``ensure`` returned false
WRONGLY_TYPED_CONTRACT              the contract id is of another template than expected
INTERPRETATION_DEPTH_LIMIT          contract logic nested package calls or exercises deeper
                                    than the engine's fixed limits (`engine_limits`)
INTERPRETATION_STEP_LIMIT           contract logic ran more package calls and loop iterations
                                    than the engine's fixed step budget (`engine_limits`)
DAML_INTERPRETATION_ERROR           other contract-logic mistakes (no signatories, a signatory
                                    that is not a party, ...)
==================================  ===========================================================
"""

from __future__ import annotations

from minicanton.core.errors import InvalidArgument, MinicantonError
from minicanton.core.lf.package import AmbiguousTemplate, PackageLoadError, TemplateNotFound
from minicanton.core.lf.typecheck import ValueTypeError

__all__ = [
    "AmbiguousTemplate",
    "AssertionFailed",
    "ChoiceNotFound",
    "ContractKeyNotFound",
    "ContractNotActive",
    "ContractNotFound",
    "DuplicateContractKey",
    "FailedAuthorization",
    "InterpretationDepthExceeded",
    "InterpretationError",
    "InterpretationLimitExceeded",
    "InterpretationStepLimitExceeded",
    "InvalidArgument",
    "PackageLoadError",
    "TemplateHasNoKey",
    "TemplateNotFound",
    "TemplatePreconditionViolated",
    "UnhandledException",
    "ValueTypeError",
    "WronglyTypedContract",
]


class InterpretationError(MinicantonError):
    error_id = "DAML_INTERPRETATION_ERROR"


class ChoiceNotFound(InterpretationError):
    error_id = "CHOICE_NOT_FOUND"


class TemplateHasNoKey(InterpretationError):
    error_id = "INVALID_ARGUMENT"


class FailedAuthorization(InterpretationError):
    error_id = "FAILED_AUTHORIZATION"

    def __init__(self, message: str, missing: frozenset[str]) -> None:
        super().__init__(message)
        self.missing = missing


class UnhandledException(InterpretationError):
    """A choice body (or a signatory/key/ensure function) raised; `line` is in the package."""

    error_id = "UNHANDLED_EXCEPTION"

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message + (f" (package line {line})" if line else ""))
        self.line = line


class AssertionFailed(UnhandledException):
    """``ctx.assert_(False, message)``: Daml's unhandled ``AssertionFailed`` exception."""

    def __init__(self, assertion_message: str) -> None:
        super().__init__(f"AssertionFailed: {assertion_message}")
        self.assertion_message = assertion_message


class ContractNotFound(InterpretationError):
    error_id = "CONTRACT_NOT_FOUND"

    def __init__(self, contract_id: str) -> None:
        super().__init__(f"contract {contract_id} not found, or not visible to the submitters")
        self.contract_id = contract_id


class ContractNotActive(InterpretationError):
    error_id = "CONTRACT_NOT_ACTIVE"

    def __init__(self, contract_id: str) -> None:
        super().__init__(f"contract {contract_id} was archived earlier in this transaction")
        self.contract_id = contract_id


class ContractKeyNotFound(InterpretationError):
    error_id = "CONTRACT_KEY_NOT_FOUND"


class DuplicateContractKey(InterpretationError):
    error_id = "DUPLICATE_CONTRACT_KEY"


class TemplatePreconditionViolated(InterpretationError):
    error_id = "TEMPLATE_PRECONDITION_VIOLATED"


class WronglyTypedContract(InterpretationError):
    error_id = "WRONGLY_TYPED_CONTRACT"


class InterpretationLimitExceeded(InterpretationError):
    """Contract logic went past one of the engine's fixed, counted limits.

    The limits are constants of the engine, counted the same way wherever it runs, so a
    submitter and every validator reach the same verdict on the same action.
    """


class InterpretationDepthExceeded(InterpretationLimitExceeded):
    error_id = "INTERPRETATION_DEPTH_LIMIT"


class InterpretationStepLimitExceeded(InterpretationLimitExceeded):
    error_id = "INTERPRETATION_STEP_LIMIT"
