"""Réglages du portail, en un seul module, lus dans l'environnement (django-environ).

Deux modes :
- développement (par défaut) : valeurs embarquées ; `make run` et `make test` démarrent
  PostgreSQL et Redis embarqués et passent `DATABASE_URL` / `REDIS_URL` ;
- production (`DJANGO_ENV=production`) : rien n'a de valeur par défaut qui touche à la
  sécurité ; le processus refuse de démarrer s'il manque `SECRET_KEY`, `ALLOWED_HOSTS`,
  `DATABASE_URL` ou `REDIS_URL`.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="developpement")
if DJANGO_ENV not in {"developpement", "production"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV vaut « {DJANGO_ENV} » : valeurs possibles « developpement » ou « production »."
    )
PRODUCTION = DJANGO_ENV == "production"

# Dossier de travail local (données embarquées, fichiers statiques collectés, planning beat).
RUN_DIR = Path(env.str("COORDINATION_RUN_DIR", default=str(BASE_DIR / ".run")))

if not PRODUCTION:
    # Adresses de la pile embarquée lancée par `make run` (fichier écrit par sandbox/stack.py),
    # pour que `manage.py` fonctionne dans un autre terminal. N'écrase jamais l'environnement.
    _stack_env = RUN_DIR / "stack.env"
    if _stack_env.exists():
        env.read_env(str(_stack_env))

REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")
if PRODUCTION:
    _missing = [name for name in REQUIRED_IN_PRODUCTION if not env.str(name, default="")]
    if _missing:
        raise ImproperlyConfigured(
            "Démarrage refusé en production : variable(s) d'environnement manquante(s) : "
            + ", ".join(_missing)
            + ". Définissez-les (voir README, « Production »)."
        )

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str(
    "SECRET_KEY",
    default="developpement-uniquement-cle-non-secrete-ne-pas-utiliser-en-production-0123456789",
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications -------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # Cœur partagé
    "coordination.comptes",
    "coordination.personnes",
    "coordination.journal",
    "coordination.notifications",
    "coordination.echanges",
    "coordination.fhir",
    # Outils de coordination
    "cercle",
    "cahier_liaison",
    "ppa",
    "agenda",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "coordination.comptes.middleware.MFAObligatoireMiddleware",
    "coordination.comptes.middleware.ActeurMiddleware",
    "coordination.journal.middleware.JournalDesLecturesMiddleware",
]

if PRODUCTION:
    # Fichiers statiques servis par l'application (collectstatic au déploiement) ; en développement,
    # `runserver` et le serveur de test les servent depuis les dossiers sources.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "coordination.urls"
WSGI_APPLICATION = "coordination.wsgi.application"
ASGI_APPLICATION = "coordination.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "coordination.comptes.context_processors.acteur",
            ],
        },
    },
]

# --- Données ------------------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/coordination")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Paramètres liés côté serveur et requêtes préparées par psycopg après 5 exécutions sur une connexion
# (ADR 0027) : PostgreSQL ne replanifie plus à chaque page les requêtes les plus jouées. À couper
# (DB_REQUETES_PREPAREES=false) derrière un PgBouncer en mode transaction sans max_prepared_statements.
if env.bool("DB_REQUETES_PREPAREES", default=True):
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("Le portail fonctionne uniquement sur PostgreSQL (DATABASE_URL postgres://…).")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "coordination",
    }
}

# --- Comptes et authentification ------------------------------------------------------------

AUTH_USER_MODEL = "comptes.Compte"
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accueil"
LOGOUT_REDIRECT_URL = "account_login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-allauth : comptes locaux sur invitation seulement, identifiant = courriel, MFA obligatoire.
ACCOUNT_ADAPTER = "coordination.comptes.adapters.AdaptateurComptes"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_RATE_LIMITS = {"login_failed": "5/5m/ip,5/15m/key"}
# Nombre de répartiteurs de confiance devant le portail (X-Forwarded-For) : sans lui, derrière un
# répartiteur, toutes les requêtes auraient son adresse et les limites par adresse seraient communes.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("PORTAIL_REPARTITEURS_DE_CONFIANCE", default=0)
MFA_ADAPTER = "coordination.comptes.adapters.AdaptateurMFA"
# Second facteur : code TOTP ou clé de sécurité (WebAuthn : clé USB/NFC, empreinte ou visage de
# l'appareil), plus les codes de secours. Pas de connexion par clé seule (« passkey ») : le mot de
# passe reste demandé, la clé ne remplace que le code (ADR 0014).
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_PASSKEY_SIGNUP_ENABLED = False
# http://localhost (serveur de développement, serveur des tests) : origine non HTTPS acceptée, hors
# production seulement. En production l'origine doit être https://<hôte de la requête>.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION
MFA_TOTP_ISSUER = "Portail de coordination"
MFA_RECOVERY_CODE_COUNT = 10

# Sessions : expiration après inactivité (glissante), 30 minutes par défaut.
SESSION_INACTIVITE_MINUTES = env.int("SESSION_INACTIVITE_MINUTES", default=30)
SESSION_COOKIE_AGE = SESSION_INACTIVITE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Sécurité HTTP -------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("COOKIES_SECURISES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("DERRIERE_PROXY_TLS", default=PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Langue, heure, fichiers statiques ---------------------------------------------------------

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(RUN_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
    # Pièces jointes du cahier de liaison : jamais servies par un serveur de fichiers (pas de
    # MEDIA_URL routé), seulement par la vue qui vérifie les habilitations (ADR 0019). Sans
    # « location », le dossier suit MEDIA_ROOT ; en production, un autre moteur (objet S3…) se
    # règle ici sans toucher au code.
    "pieces_jointes": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(RUN_DIR / "media"))

# Pièces jointes du cahier de liaison (ADR 0019) : taille d'un fichier, nombre par note, nombre
# de pixels d'une image (refus avant de décoder les pixels : bombes de décompression).
CAHIER_PIECE_TAILLE_MAX = env.int("CAHIER_PIECE_TAILLE_MAX", default=10 * 1024 * 1024)
CAHIER_PIECES_PAR_NOTE = env.int("CAHIER_PIECES_PAR_NOTE", default=6)
CAHIER_PIECE_PIXELS_MAX = env.int("CAHIER_PIECE_PIXELS_MAX", default=50_000_000)
# Un fichier envoyé va sur disque (fichier temporaire) au-delà de 2,5 Mo, pas en mémoire ; les
# champs hors fichiers restent limités à 2,5 Mo. Le gestionnaire de téléversement du cahier
# (cahier_liaison/pieces_jointes.py) arrête de lire un fichier trop gros et le signale en français.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_PERMISSIONS = 0o600

# --- Courriel -------------------------------------------------------------------------------

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.smtp.EmailBackend"
        if PRODUCTION
        else "django.core.mail.backends.console.EmailBackend"
    ),
)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Portail de coordination <ne-pas-repondre@localhost>"
)

# --- Celery ---------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_SOFT_TIME_LIMIT = 20
CELERY_TASK_TIME_LIMIT = 30
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(RUN_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "cercle-expirer-demandes": {"task": "cercle.expirer_demandes", "schedule": crontab(hour=3, minute=10)},
    # Les réunions sans accord à leur date limite libèrent le créneau tenu (agenda/reunions.py).
    "agenda-expirer-reunions": {"task": "agenda.expirer_reunions", "schedule": crontab(minute="*/15")},
    "agenda-synchroniser-caldav": {
        "task": "agenda.synchroniser_tous_les_caldav",
        "schedule": crontab(minute="*/15"),
    },
    # Revues annuelles des projets personnalisés : rappel au référent 30 jours avant (ppa/revues.py).
    "ppa-rappeler-revues": {"task": "ppa.rappeler_revues", "schedule": crontab(hour=6, minute=30)},
    "comptes-purger-jetons-oauth2": {
        "task": "comptes.purger_jetons_oauth2",
        "schedule": crontab(hour=3, minute=20),
    },
}

# --- Échanges : boîte d'envoi (coordination/echanges/envoi.py) --------------------------------

# Après ce nombre de tentatives ratées, un message passe en échec définitif (lettre morte).
ECHANGES_TENTATIVES_MAX = env.int("ECHANGES_TENTATIVES_MAX", default=8)
# Bail d'un envoi : un message pris par un worker revient de lui-même après ce délai si le worker
# est tombé en cours d'envoi.
ECHANGES_BAIL_SECONDES = env.float("ECHANGES_BAIL_SECONDES", default=120.0)
# Attente avant la tentative n : base × 2^(n-1), plafonnée, avec une gigue de ±20 %.
ECHANGES_ATTENTE_BASE_SECONDES = env.float("ECHANGES_ATTENTE_BASE_SECONDES", default=15.0)
ECHANGES_ATTENTE_MAX_SECONDES = env.float("ECHANGES_ATTENTE_MAX_SECONDES", default=3600.0)
# Le balayage (Celery beat) reprend ce qui est dû : la tâche après validation perdue (Redis
# arrêté), les échéances d'attente, les baux expirés.
ECHANGES_BALAYAGE_SECONDES = env.float("ECHANGES_BALAYAGE_SECONDES", default=10.0)
# Envois simultanés d'un worker qui vide la file (fils, chacun avec ses connexions) : l'attente des
# réponses d'un pair (quatre allers-retours SMTP par message) ne laisse pas le worker inoccupé.
ECHANGES_FILS_PAR_WORKER = env.int("ECHANGES_FILS_PAR_WORKER", default=4)
CELERY_BEAT_SCHEDULE["echanges-balayer"] = {
    "task": "echanges.balayer",
    "schedule": ECHANGES_BALAYAGE_SECONDES,
    "options": {"expires": ECHANGES_BALAYAGE_SECONDES},
}

# --- Échanges : MSSanté (coordination/echanges/mssante.py) -------------------------------------

# L'opérateur : SMTP de soumission et IMAP, tous deux avec STARTTLS et le certificat client de la
# BAL applicative (ORG AUTH_CLI). Par défaut, l'opérateur du bac à sable de `make run`
# (sandbox/mssante.py), dont la PKI de test est générée dans .run/mssante/pki.
MSSANTE_HOTE = env.str("MSSANTE_HOTE", default="127.0.0.1")
MSSANTE_PORT_SMTP = env.int("MSSANTE_PORT_SMTP", default=8587)
MSSANTE_PORT_IMAP = env.int("MSSANTE_PORT_IMAP", default=8143)
MSSANTE_DELAI_SECONDES = env.float("MSSANTE_DELAI_SECONDES", default=10.0)
_PKI_MSSANTE = RUN_DIR / "mssante" / "pki"
MSSANTE_CA = env.str("MSSANTE_CA", default="" if PRODUCTION else str(_PKI_MSSANTE / "ca.pem"))
MSSANTE_CERTIFICAT_CLIENT = env.str(
    "MSSANTE_CERTIFICAT_CLIENT", default="" if PRODUCTION else str(_PKI_MSSANTE / "client.pem")
)
MSSANTE_CLE_CLIENT = env.str(
    "MSSANTE_CLE_CLIENT", default="" if PRODUCTION else str(_PKI_MSSANTE / "client.key")
)
# La BAL applicative du portail : expéditeur, et boîte où arrivent les accusés (MDN).
MSSANTE_BAL_APPLICATION = env.str(
    "MSSANTE_BAL_APPLICATION", default="portail-coordination@coordination.mssante.fr"
)
# En-tête X-MSS-NIL : PORTAIL_REFERENCE_CONVERGENCE s'il est renseigné, sinon celui-ci.
MSSANTE_X_MSS_NIL = env.str(
    "MSSANTE_X_MSS_NIL", default="" if PRODUCTION else "BAC-A-SABLE-PORTAIL-COORDINATION"
)
# sourceId du lot XDM (OID de l'application émettrice).
MSSANTE_OID_SOURCE = env.str("MSSANTE_OID_SOURCE", default="2.25.164285716946237208340290845573466355013")
# Relevé des accusés de réception (coordination/echanges/accuses.py).
CELERY_BEAT_SCHEDULE["echanges-relever-accuses-mssante"] = {
    "task": "echanges.relever_accuses_mssante",
    "schedule": env.float("MSSANTE_RELEVE_SECONDES", default=60.0),
}

# --- Échanges : Mon espace santé et DMP (coordination/echanges/mes.py, dmp.py) -----------------

# Le pair FHIR du bac à sable (sandbox/pair_fhir.py, lancé par `make run`) joue les deux services.
FHIR_BAC_A_SABLE = f"http://127.0.0.1:{env.int('FHIR_BAC_A_SABLE_PORT', default=8074)}"
# Dépôt PDSm ITI-65 (lot « transaction ») au DMP ; type de document du PPA : ADR 0034.
DMP_URL = env.str("DMP_URL", default=f"{FHIR_BAC_A_SABLE}/dmp/fhir")
DMP_TYPE_DOCUMENT_PPA = env.list(
    "DMP_TYPE_DOCUMENT_PPA", default=["http://loinc.org", "18776-5", "Plan de soins"]
)
# Mon espace santé : API FHIR de l'agenda, et appariement (tient lieu de l'API Appariement v2.1).
MES_URL = env.str("MES_URL", default=f"{FHIR_BAC_A_SABLE}/mes/fhir")
MES_URL_APPARIEMENT = env.str("MES_URL_APPARIEMENT", default=f"{FHIR_BAC_A_SABLE}/mes/appariement")
# Délai d'attente d'une réponse du DMP ou de Mon espace santé.
ECHANGES_FHIR_DELAI_SECONDES = env.float("ECHANGES_FHIR_DELAI_SECONDES", default=10.0)
# Relecture des rendez-vous saisis dans Mon espace santé vers l'agenda consolidé (agenda/tasks.py).
MES_RELECTURE_MINUTES = env.int("MES_RELECTURE_MINUTES", default=15)
CELERY_BEAT_SCHEDULE["agenda-relire-mes"] = {
    "task": "agenda.relire_mes",
    "schedule": crontab(minute=f"*/{MES_RELECTURE_MINUTES}"),
}

# --- Notifications (coordination/notifications) ------------------------------------------------

# Adresse publique du portail : les liens des courriels, SMS et messages MSSanté partent d'elle.
NOTIFICATIONS_ADRESSE_PORTAIL = env.str("NOTIFICATIONS_ADRESSE_PORTAIL", default="http://localhost:8000")
# Événements distribués par transaction (une par lot, lignes prises par FOR UPDATE SKIP LOCKED).
NOTIFICATIONS_TAILLE_LOT = env.int("NOTIFICATIONS_TAILLE_LOT", default=200)
# Courriels de notification (coordination/echanges/courriel.py) : moteur Django, serveur SMTP
# (vide / 0 : EMAIL_HOST / EMAIL_PORT), expéditeur, domaine des Message-ID dérivés de la clé.
# Hors production, par défaut : le port « courriel ordinaire » de l'opérateur MSSanté du bac à
# sable (sandbox/mssante.py, lancé par make run, MSSANTE_PORT_COURRIEL).
NOTIFICATIONS_COURRIEL_BACKEND = env.str(
    "NOTIFICATIONS_COURRIEL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend"
)
NOTIFICATIONS_SMTP_HOTE = env.str("NOTIFICATIONS_SMTP_HOTE", default="" if PRODUCTION else "127.0.0.1")
NOTIFICATIONS_SMTP_PORT = env.int(
    "NOTIFICATIONS_SMTP_PORT", default=0 if PRODUCTION else env.int("MSSANTE_PORT_COURRIEL", default=8025)
)
NOTIFICATIONS_SMTP_DELAI_SECONDES = env.float("NOTIFICATIONS_SMTP_DELAI_SECONDES", default=10.0)
NOTIFICATIONS_EXPEDITEUR = env.str("NOTIFICATIONS_EXPEDITEUR", default=DEFAULT_FROM_EMAIL)
NOTIFICATIONS_DOMAINE_MESSAGE_ID = env.str("NOTIFICATIONS_DOMAINE_MESSAGE_ID", default="portail.localhost")
# Balayage de chaque minute (la tâche après validation perdue) ; résumés à 7 h, heure de Paris.
CELERY_BEAT_SCHEDULE["notifications-distribuer"] = {
    "task": "notifications.distribuer",
    "schedule": crontab(minute="*"),
}
CELERY_BEAT_SCHEDULE["notifications-resume-quotidien"] = {
    "task": "notifications.resume_quotidien",
    "schedule": crontab(hour=7, minute=0),
}
CELERY_BEAT_SCHEDULE["notifications-resume-hebdomadaire"] = {
    "task": "notifications.resume_hebdomadaire",
    "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
}

# --- Notifications : SMS et webhooks des logiciels des structures -------------------------------

# Fournisseur de SMS (coordination/echanges/sms.py) : son API HTTP reçoit {to, text, reference} en
# JSON avec la clé en « Authorization: Bearer ». Par défaut, le fournisseur du bac à sable que
# `make run` lance (sandbox/sms.py, port SMS_BAC_A_SABLE_PORT).
SMS_API_URL = env.str(
    "SMS_API_URL", default=f"http://127.0.0.1:{env.int('SMS_BAC_A_SABLE_PORT', default=8079)}/v1/sms"
)
SMS_API_CLE = env.str("SMS_API_CLE", default="cle-bac-a-sable-sms")
SMS_DELAI_SECONDES = env.float("SMS_DELAI_SECONDES", default=10.0)
# Webhooks NdE vers le logiciel d'une structure (coordination/echanges/webhook.py).
WEBHOOKS_DELAI_SECONDES = env.float("WEBHOOKS_DELAI_SECONDES", default=10.0)
# Un abonnement peut-il notifier http://localhost ou 127.0.0.1 (sans TLS) ? Jamais en production.
WEBHOOKS_HTTP_LOCAL = env.bool("WEBHOOKS_HTTP_LOCAL", default=not PRODUCTION)
# (Les liens et la référence de l'abonnement, basedOn, partent de NOTIFICATIONS_ADRESSE_PORTAIL.)

# --- API ------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Le jeton d'abord : sans authentification, DRF répond 401 avec son défi « Bearer ».
        "coordination.comptes.api.JetonLogiciel",
        "coordination.comptes.api.SessionAvecSecondFacteur",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# drf-spectacular : schéma OpenAPI à /api/schema/, Swagger UI à /api/schema/swagger/ avec les
# fichiers locaux de drf-spectacular-sidecar (pas de CDN ; voir ADR 0009).
SPECTACULAR_SETTINGS = {
    "TITLE": "API du portail de coordination",
    "DESCRIPTION": (
        "API REST du portail. Les échanges normalisés (CI-SIS) passent par l'API FHIR R4 sous /fhir/ "
        "(CapabilityStatement : /fhir/metadata)."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Deux listes de choix s'appellent « type » (membre du cercle, note du cahier) : noms explicites.
    "ENUM_NAME_OVERRIDES": {"TypeNoteEnum": "cahier_liaison.codes.TypeNote"},
}

# django-oauth-toolkit : jetons des logiciels des structures (client credentials, ADR 0010).
# Modèle d'application d'origine (le lien à la structure est comptes.ClientLogiciel).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "SCOPES_BACKEND_CLASS": "coordination.fhir.portees.PorteesFHIR",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH2_DUREE_JETON_SECONDES", default=3600),
    # Les applications n'ont que le grant client_credentials (comptes/logiciels.py) : pas de jeton
    # de rafraîchissement, un logiciel redemande un jeton avec son secret.
    # RFC 9700 (bonnes pratiques OAuth 2.0) : comportements conformes dès maintenant — jetons
    # gardés hachés, jamais lus dans l'adresse, pas de grant implicite ni mot de passe.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

# --- Journalisation applicative -----------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"simple": {"format": "{asctime} {levelname} {name} {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "simple"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Ce portail -----------------------------------------------------------------------------

# Référence produit déclarée dans Convergence (en-tête X-MSS-NIL des courriels MSSanté).
PORTAIL_REFERENCE_CONVERGENCE = env.str("PORTAIL_REFERENCE_CONVERGENCE", default="")

# === Pro Santé Connect (connexion des professionnels) — début ===================================
# Par défaut (développement) : le fournisseur du bac à sable lancé par `make run`
# (sandbox/fournisseurs/, port PSC_BAC_A_SABLE_PORT). En production, rien par défaut : sans
# PSC_EMETTEUR, PSC_CLIENT_ID et PSC_CLIENT_SECRET le bouton n'apparaît pas. Voir README,
# « Brancher les vrais services : Pro Santé Connect ».
PSC_BAC_A_SABLE_PORT = env.int("PSC_BAC_A_SABLE_PORT", default=8071)
_PSC_BAC_A_SABLE = f"http://127.0.0.1:{PSC_BAC_A_SABLE_PORT}/auth/realms/esante-wallet"
PSC_EMETTEUR = env.str("PSC_EMETTEUR", default="" if PRODUCTION else _PSC_BAC_A_SABLE)
# Vide : l'adresse de la découverte ; pour le vrai PSC, l'hôte wallet (https://wallet…/auth).
PSC_ADRESSE_AUTORISATION = env.str("PSC_ADRESSE_AUTORISATION", default="")
PSC_CLIENT_ID = env.str("PSC_CLIENT_ID", default="" if PRODUCTION else "portail-coordination-bac-a-sable")
PSC_CLIENT_SECRET = env.str(
    "PSC_CLIENT_SECRET", default="" if PRODUCTION else "secret-de-developpement-bac-a-sable-psc-non-secret"
)
# Certificat client (mTLS à l'adresse de jeton), chemins de fichiers PEM ; facultatif.
PSC_CERTIFICAT_CLIENT = env.str("PSC_CERTIFICAT_CLIENT", default="")
PSC_CLE_CLIENT = env.str("PSC_CLE_CLIENT", default="")
PSC_ALGORITHMES_SIGNATURE = env.list("PSC_ALGORITHMES_SIGNATURE", default=["HS256", "RS256", "ES256"])
PSC_DELAI_HTTP = env.float("PSC_DELAI_HTTP", default=10.0)
AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "coordination.comptes.psc.DorsalPSC"]
if PSC_EMETTEUR:
    # Le bouton « Se déconnecter » (formulaire POST) redirige vers la fin de session de PSC : la
    # directive CSP form-action s'applique aussi à cette redirection.
    from urllib.parse import urlsplit as _urlsplit

    _psc = _urlsplit(PSC_EMETTEUR)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] = [
        *CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"],
        f"{_psc.scheme}://{_psc.netloc}",
    ]
# === Pro Santé Connect — fin ====================================================================

# --- Invitations et comptes locaux (ADR 0014) — début ------------------------------------------
INVITATION_DUREE_JOURS = env.int("INVITATION_DUREE_JOURS", default=14)
INVITATION_ESSAIS_MAX = 5  # codes erronés par adresse IP et par fenêtre
INVITATION_ESSAIS_FENETRE_SECONDES = 15 * 60
CONNEXION_ECHECS_MAX = 5  # échecs de mot de passe sur un compte avant verrouillage
CONNEXION_VERROUILLAGE_SECONDES = 30 * 60
# Confirmer son courriel, dans le navigateur de l'inscription, connecte (puis TOTP obligatoire).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
CELERY_BEAT_SCHEDULE["comptes-expirer-invitations"] = {
    "task": "comptes.expirer_invitations",
    "schedule": crontab(hour=3, minute=30),
}
# --- Invitations et comptes locaux — fin --------------------------------------------------------

# === FranceConnect+ (connexion des usagers et de leurs aidants) — début =========================
# Par défaut (développement) : le fournisseur du bac à sable lancé par `make run`
# (sandbox/fournisseurs/fcplus.py, port FCPLUS_BAC_A_SABLE_PORT). En production, rien par défaut :
# sans FCPLUS_EMETTEUR, FCPLUS_CLIENT_ID, FCPLUS_CLIENT_SECRET et une clé de chiffrement, le bouton
# est désactivé. Voir README, « Brancher les vrais services : FranceConnect+ », et ADR 0015.
FCPLUS_BAC_A_SABLE_PORT = env.int("FCPLUS_BAC_A_SABLE_PORT", default=8072)
_FCPLUS_BAC_A_SABLE = f"http://127.0.0.1:{FCPLUS_BAC_A_SABLE_PORT}/api/v2"
FCPLUS_EMETTEUR = env.str("FCPLUS_EMETTEUR", default="" if PRODUCTION else _FCPLUS_BAC_A_SABLE)
FCPLUS_CLIENT_ID = env.str(
    "FCPLUS_CLIENT_ID", default="" if PRODUCTION else "portail-coordination-bac-a-sable-fcplus"
)
FCPLUS_CLIENT_SECRET = env.str(
    "FCPLUS_CLIENT_SECRET",
    default="" if PRODUCTION else "secret-de-developpement-bac-a-sable-fcplus-non-secret",
)
# Niveau demandé (acr_values) : eidas2 (substantiel) ; eidas2 et eidas3 sont alors acceptés.
FCPLUS_NIVEAU = env.str("FCPLUS_NIVEAU", default="eidas2")
FCPLUS_PORTEES = env.str("FCPLUS_PORTEES", default="openid identite_pivot preferred_username email")
# PKCE S256 envoyé en plus de state et nonce (non exigé par FC+, vérifié s'il est envoyé).
FCPLUS_PKCE = env.bool("FCPLUS_PKCE", default=True)
# Clés privées de déchiffrement (JWKS JSON ou PEM), voir coordination/comptes/cles_fcplus.py. En
# développement : un fichier créé au premier usage dans .run/ (ignoré par git).
FCPLUS_CLES_CHIFFREMENT = env.str("FCPLUS_CLES_CHIFFREMENT", default="")
FCPLUS_CLES_CHIFFREMENT_FICHIER = env.str(
    "FCPLUS_CLES_CHIFFREMENT_FICHIER",
    default="" if PRODUCTION else str(RUN_DIR / "fcplus-cles-dev.json"),
)
FCPLUS_ALGORITHME_CHIFFREMENT = env.str("FCPLUS_ALGORITHME_CHIFFREMENT", default="RSA-OAEP")
FCPLUS_ALGORITHMES_CHIFFREMENT_ACCEPTES = ["RSA-OAEP", "RSA-OAEP-256"]
FCPLUS_DELAI_HTTP = env.float("FCPLUS_DELAI_HTTP", default=10.0)
# Délai pour saisir le code d'invitation après le retour de FranceConnect+ (identité non reliée).
FCPLUS_DUREE_LIAISON_SECONDES = 15 * 60
AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "coordination.comptes.fcplus.DorsalFCPlus"]
if FCPLUS_EMETTEUR:
    # Déconnexion : le formulaire POST redirige vers la fin de session de FC+ (CSP form-action).
    from urllib.parse import urlsplit as _urlsplit

    _fcplus = _urlsplit(FCPLUS_EMETTEUR)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] = [
        *CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"],
        f"{_fcplus.scheme}://{_fcplus.netloc}",
    ]
# === FranceConnect+ — fin =======================================================================

# --- Cahier de liaison : temps réel (ADR 0017) — début -----------------------------------------
# Préfixe des canaux Redis (pub/sub ignore le numéro de base : un préfixe par environnement).
CAHIER_TEMPS_REEL_PREFIXE = env.str("CAHIER_TEMPS_REEL_PREFIXE", default="coordination:cahier")
# Battement du flux SSE (secondes) : commentaire envoyé et habilitation relue à chaque battement.
CAHIER_TEMPS_REEL_BATTEMENT = env.float("CAHIER_TEMPS_REEL_BATTEMENT", default=15.0)
# Durée de vie d'un flux (secondes) : le navigateur se reconnecte seul ; aucun fil n'est gardé à vie.
CAHIER_TEMPS_REEL_DUREE_MAX = env.float("CAHIER_TEMPS_REEL_DUREE_MAX", default=300.0)
# Délai de connexion et de lecture vers Redis (secondes) : Redis en panne ne bloque pas une écriture.
CAHIER_TEMPS_REEL_DELAI_REDIS = env.float("CAHIER_TEMPS_REEL_DELAI_REDIS", default=2.0)
# Délai de reconnexion conseillé au navigateur (millisecondes, champ « retry » de SSE).
CAHIER_TEMPS_REEL_RECONNEXION_MS = env.int("CAHIER_TEMPS_REEL_RECONNEXION_MS", default=2000)
# --- Cahier de liaison : temps réel — fin ------------------------------------------------------
