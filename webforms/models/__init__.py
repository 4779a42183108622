"""Database tables, one module per feature. The schema is created and upgraded by Alembic (``webforms/migrations``).

Every table module is imported here, so ``Base.metadata`` knows them all and ``from webforms.models import X`` keeps working.
"""

from webforms.models.accounts import AccountSecurity, KeptForm, SignInCounter, WebSession
from webforms.models.api import API_SCOPES, ApiRateCounter, ApiToken, ApiTokenUse
from webforms.models.archive import (
    RETENTION_FATES,
    SIGNATURE_KINDS,
    ArchiveLog,
    ArchiveRecord,
    DestructionItem,
    DestructionVisa,
    RetentionRule,
    Tombstone,
)
from webforms.models.base import ROLES, STATUTS_DOCUMENT, STATUTS_MESURE, Base, UTCDateTime, utcnow
from webforms.models.candidatures import Appel, Piece
from webforms.models.documents import Apercu, Counter, Document, Event, Rendition
from webforms.models.eliminations import MesureElimination
from webforms.models.guards import ARCHIVE_TABLES, SUBMISSION_KEPT, WRITE_ONCE_TABLES, WriteOnceViolation
from webforms.models.instruction import Annotation, CorrectionRequest, Instruction, InstructionMove, Jury, JuryMember
from webforms.models.jobs import STATUTS_TRAVAIL, Travail
from webforms.models.jury import Avis, Decision, Evaluation, Lettre
from webforms.models.message_attachments import PieceJointe
from webforms.models.messages import NATURES_MESSAGE, Message, MessageRead
from webforms.models.mesures import Mesure, Rencontre, Renouvellement
from webforms.models.modeles import MOUVEMENTS_MODELE, ModeleEnVigueur, ModeleMouvement, ModeleVersion
from webforms.models.notifications import FREQUENCES, Courriel, Notification, NotificationPreference, Rappel
from webforms.models.parcours import DiplomeReferent, MesureOrigine
from webforms.models.partages import QUALITES_PARTAGE, TRACES_PARTAGE, Partage, PartageTrace
from webforms.models.people import Organisation, User
from webforms.models.reinitialisations import PasswordReset
from webforms.models.territoires import (
    NATURES_TERRITOIRE,
    NATURES_ZONE,
    Departement,
    OrganisationTerritoire,
    PorteeDepartement,
    Territoire,
    TerritoireZone,
    UserTerritoire,
)

__all__ = [
    "API_SCOPES",
    "ARCHIVE_TABLES",
    "FREQUENCES",
    "MOUVEMENTS_MODELE",
    "NATURES_MESSAGE",
    "NATURES_TERRITOIRE",
    "NATURES_ZONE",
    "QUALITES_PARTAGE",
    "RETENTION_FATES",
    "ROLES",
    "SIGNATURE_KINDS",
    "STATUTS_DOCUMENT",
    "STATUTS_MESURE",
    "STATUTS_TRAVAIL",
    "SUBMISSION_KEPT",
    "TRACES_PARTAGE",
    "WRITE_ONCE_TABLES",
    "AccountSecurity",
    "Annotation",
    "Apercu",
    "ApiRateCounter",
    "ApiToken",
    "ApiTokenUse",
    "Appel",
    "ArchiveLog",
    "ArchiveRecord",
    "Avis",
    "Base",
    "CorrectionRequest",
    "Counter",
    "Courriel",
    "Decision",
    "Departement",
    "DestructionItem",
    "DestructionVisa",
    "DiplomeReferent",
    "Document",
    "Evaluation",
    "Event",
    "Instruction",
    "InstructionMove",
    "Jury",
    "JuryMember",
    "KeptForm",
    "Lettre",
    "Message",
    "MessageRead",
    "Mesure",
    "MesureElimination",
    "MesureOrigine",
    "ModeleEnVigueur",
    "ModeleMouvement",
    "ModeleVersion",
    "Notification",
    "NotificationPreference",
    "Organisation",
    "OrganisationTerritoire",
    "Partage",
    "PartageTrace",
    "PasswordReset",
    "Piece",
    "PieceJointe",
    "PorteeDepartement",
    "Rappel",
    "Rencontre",
    "Rendition",
    "Renouvellement",
    "RetentionRule",
    "SignInCounter",
    "Territoire",
    "TerritoireZone",
    "Tombstone",
    "Travail",
    "UTCDateTime",
    "User",
    "UserTerritoire",
    "WebSession",
    "WriteOnceViolation",
    "utcnow",
]
