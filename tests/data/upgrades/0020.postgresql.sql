--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: pg_trgm; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: access_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.access_tokens (
    id integer NOT NULL,
    user_id integer NOT NULL,
    name character varying(64) NOT NULL,
    kind character varying(16) NOT NULL,
    secret_hash character varying(64) NOT NULL,
    scopes character varying(64) NOT NULL,
    expires_at timestamp with time zone,
    revoked_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: access_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.access_tokens_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: access_tokens_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.access_tokens_id_seq OWNED BY public.access_tokens.id;


--
-- Name: alembic_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alembic_version (
    version_num character varying(32) NOT NULL
);


--
-- Name: blobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.blobs (
    digest character varying(200) NOT NULL,
    size bigint NOT NULL,
    created_at timestamp with time zone NOT NULL,
    unreferenced_since timestamp with time zone,
    deleting_since timestamp with time zone
);


--
-- Name: catalogue_tags; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.catalogue_tags (
    repository_id integer NOT NULL,
    tag character varying(128) NOT NULL,
    digest character varying(200) NOT NULL,
    media_type character varying(255) NOT NULL,
    size bigint,
    platforms text NOT NULL,
    pushed_at timestamp with time zone NOT NULL,
    pushed_by character varying(255)
);


--
-- Name: collaborators; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.collaborators (
    id integer NOT NULL,
    repository_id integer NOT NULL,
    user_id integer,
    team_id integer,
    role character varying(16) NOT NULL
);


--
-- Name: collaborators_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.collaborators_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: collaborators_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.collaborators_id_seq OWNED BY public.collaborators.id;


--
-- Name: comments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.comments (
    id integer NOT NULL,
    repository_id integer NOT NULL,
    user_id integer NOT NULL,
    body text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone
);


--
-- Name: comments_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.comments_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: comments_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.comments_id_seq OWNED BY public.comments.id;


--
-- Name: event_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.event_deliveries (
    endpoint character varying(255) NOT NULL,
    event_id bigint NOT NULL,
    attempts integer NOT NULL
);


--
-- Name: event_endpoints; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.event_endpoints (
    name character varying(255) NOT NULL,
    lease_owner character varying(64),
    lease_until timestamp with time zone,
    failures integer NOT NULL,
    next_attempt_at timestamp with time zone,
    last_error text,
    last_failure_at timestamp with time zone,
    last_success_at timestamp with time zone
);


--
-- Name: events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.events (
    id bigint NOT NULL,
    uuid character varying(36) NOT NULL,
    action character varying(16) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    body text NOT NULL
);


--
-- Name: events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.events_id_seq OWNED BY public.events.id;


--
-- Name: immutable_tags; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.immutable_tags (
    namespace character varying(255) NOT NULL,
    repository character varying(255) NOT NULL,
    pattern character varying(128) NOT NULL
);


--
-- Name: maintenance_leases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.maintenance_leases (
    name character varying(64) NOT NULL,
    owner character varying(64),
    until timestamp with time zone,
    last_finished_at timestamp with time zone
);


--
-- Name: manifest_references; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.manifest_references (
    repository_id integer NOT NULL,
    digest character varying(200) NOT NULL,
    reference character varying(200) NOT NULL,
    kind character varying(8) NOT NULL
);


--
-- Name: manifests; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.manifests (
    repository_id integer NOT NULL,
    digest character varying(200) NOT NULL,
    media_type character varying(255) NOT NULL,
    artifact_type character varying(255),
    subject character varying(200),
    size bigint NOT NULL,
    body bytea NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: namespace_quotas; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.namespace_quotas (
    namespace character varying(255) NOT NULL,
    max_bytes bigint,
    max_repositories integer,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: namespaces; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.namespaces (
    name character varying(64) NOT NULL,
    kind character varying(16) NOT NULL
);


--
-- Name: organisation_members; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.organisation_members (
    organisation_id integer NOT NULL,
    user_id integer NOT NULL,
    role character varying(16) NOT NULL
);


--
-- Name: organisations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.organisations (
    id integer NOT NULL,
    name character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: organisations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.organisations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: organisations_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.organisations_id_seq OWNED BY public.organisations.id;


--
-- Name: rate_counters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.rate_counters (
    key character varying(255) NOT NULL,
    count integer NOT NULL,
    expires_at double precision NOT NULL
);


--
-- Name: repositories; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.repositories (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: repositories_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.repositories_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: repositories_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.repositories_id_seq OWNED BY public.repositories.id;


--
-- Name: repository_blobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.repository_blobs (
    repository_id integer NOT NULL,
    digest character varying(200) NOT NULL,
    unreferenced_since timestamp with time zone
);


--
-- Name: repository_settings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.repository_settings (
    id integer NOT NULL,
    name character varying(255) NOT NULL,
    namespace character varying(64) NOT NULL,
    visibility character varying(16) NOT NULL,
    description text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    pull_count bigint DEFAULT '0'::bigint NOT NULL,
    last_pull_at timestamp with time zone,
    last_push_at timestamp with time zone,
    tag_count integer DEFAULT 0 NOT NULL,
    full_description text DEFAULT ''::text NOT NULL,
    star_count integer DEFAULT 0 NOT NULL
);


--
-- Name: repository_settings_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.repository_settings_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: repository_settings_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.repository_settings_id_seq OWNED BY public.repository_settings.id;


--
-- Name: retention_policies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.retention_policies (
    namespace character varying(255) NOT NULL,
    repository character varying(255) NOT NULL,
    keep_last integer,
    keep_days double precision,
    match character varying(128) NOT NULL,
    protect text NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: stars; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stars (
    repository_id integer NOT NULL,
    user_id integer NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: tags; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tags (
    repository_id integer NOT NULL,
    name character varying(128) NOT NULL,
    digest character varying(200) NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    last_pulled_at timestamp with time zone
);


--
-- Name: team_members; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.team_members (
    team_id integer NOT NULL,
    user_id integer NOT NULL
);


--
-- Name: teams; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.teams (
    id integer NOT NULL,
    organisation_id integer NOT NULL,
    name character varying(64) NOT NULL
);


--
-- Name: teams_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.teams_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: teams_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.teams_id_seq OWNED BY public.teams.id;


--
-- Name: upload_pieces; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.upload_pieces (
    upload_id character varying(36) NOT NULL,
    "position" integer NOT NULL,
    storage_key character varying(512) NOT NULL,
    size bigint NOT NULL
);


--
-- Name: uploads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.uploads (
    id character varying(36) NOT NULL,
    repository_id integer NOT NULL,
    size bigint NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    hash_state bytea,
    digest character varying(200)
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id integer NOT NULL,
    username character varying(64) NOT NULL,
    email character varying(255) NOT NULL,
    password_hash character varying(255) NOT NULL,
    is_admin boolean NOT NULL,
    created_at timestamp with time zone NOT NULL,
    disabled_at timestamp with time zone,
    credentials_changed_at timestamp with time zone
);


--
-- Name: users_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: users_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;


--
-- Name: web_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.web_sessions (
    id_hash character varying(64) NOT NULL,
    user_id integer NOT NULL,
    csrf_token character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL
);


--
-- Name: webhook_attempts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_attempts (
    id integer NOT NULL,
    delivery_id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    status_code integer,
    error text,
    duration_ms integer NOT NULL,
    response text NOT NULL
);


--
-- Name: webhook_attempts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhook_attempts_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: webhook_attempts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhook_attempts_id_seq OWNED BY public.webhook_attempts.id;


--
-- Name: webhook_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_deliveries (
    id integer NOT NULL,
    hook_id integer NOT NULL,
    event_uuid character varying(64) NOT NULL,
    event character varying(16) NOT NULL,
    payload text NOT NULL,
    state character varying(16) NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    lease_owner character varying(64),
    lease_until timestamp with time zone,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: webhook_deliveries_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhook_deliveries_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: webhook_deliveries_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhook_deliveries_id_seq OWNED BY public.webhook_deliveries.id;


--
-- Name: webhooks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhooks (
    id integer NOT NULL,
    repository_id integer,
    organisation_id integer,
    name character varying(64) NOT NULL,
    url text NOT NULL,
    secret character varying(128) NOT NULL,
    events character varying(64) NOT NULL,
    active boolean NOT NULL,
    disabled_reason text,
    failures_in_a_row integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT ck_webhooks_one_owner CHECK (((repository_id IS NULL) <> (organisation_id IS NULL)))
);


--
-- Name: webhooks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhooks_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: webhooks_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhooks_id_seq OWNED BY public.webhooks.id;


--
-- Name: access_tokens id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_tokens ALTER COLUMN id SET DEFAULT nextval('public.access_tokens_id_seq'::regclass);


--
-- Name: collaborators id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collaborators ALTER COLUMN id SET DEFAULT nextval('public.collaborators_id_seq'::regclass);


--
-- Name: comments id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.comments ALTER COLUMN id SET DEFAULT nextval('public.comments_id_seq'::regclass);


--
-- Name: events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events ALTER COLUMN id SET DEFAULT nextval('public.events_id_seq'::regclass);


--
-- Name: organisations id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organisations ALTER COLUMN id SET DEFAULT nextval('public.organisations_id_seq'::regclass);


--
-- Name: repositories id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.repositories ALTER COLUMN id SET DEFAULT nextval('public.repositories_id_seq'::regclass);


--
-- Name: repository_settings id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.repository_settings ALTER COLUMN id SET DEFAULT nextval('public.repository_settings_id_seq'::regclass);


--
-- Name: teams id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.teams ALTER COLUMN id SET DEFAULT nextval('public.teams_id_seq'::regclass);


--
-- Name: users id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);


--
-- Name: webhook_attempts id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_attempts ALTER COLUMN id SET DEFAULT nextval('public.webhook_attempts_id_seq'::regclass);


--
-- Name: webhook_deliveries id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries ALTER COLUMN id SET DEFAULT nextval('public.webhook_deliveries_id_seq'::regclass);


--
-- Name: webhooks id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks ALTER COLUMN id SET DEFAULT nextval('public.webhooks_id_seq'::regclass);


--
-- Data for Name: access_tokens; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: alembic_version; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.alembic_version VALUES ('0020');


--
-- Data for Name: blobs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.blobs VALUES ('sha256:f5397d9fc6022fdebae751321fde61e35587445dd21b7272d390179d9b709778', 72, '2026-12-06 08:14:18.011002+00', NULL, NULL);
INSERT INTO public.blobs VALUES ('sha256:db1742edbe0046b97c42f516afa6bba798abb15703717b6afc9d2ec4e5676f16', 2800, '2026-12-06 08:14:18.038989+00', NULL, NULL);
INSERT INTO public.blobs VALUES ('sha256:f0cc178b2ecf73fc906c9538a096f86812b27836dba60d6e61770f86fb5b7a16', 2800, '2026-12-06 08:14:18.052769+00', NULL, NULL);
INSERT INTO public.blobs VALUES ('sha256:60eccf43d0740666051e398154ba2e28e5b09fdcd406b855b5a5efe1613d5e56', 72, '2026-12-06 08:14:19.136331+00', NULL, NULL);
INSERT INTO public.blobs VALUES ('sha256:50227c42f19c8fb566e267ce717f501354e8d2968966f69f53c72316925991db', 2800, '2026-12-06 08:14:19.153782+00', NULL, NULL);
INSERT INTO public.blobs VALUES ('sha256:e833d7f8b67fab73d6a91e11d9ac63fa47c5b0c513d72480b0a6b3662000df31', 2800, '2026-12-06 08:14:19.170118+00', NULL, NULL);
INSERT INTO public.blobs VALUES ('sha256:72acc5c336d7ed52544bf548b6dad5973147613a918120cc30b8eefd3507511f', 77, '2026-12-06 08:14:20.284706+00', NULL, NULL);
INSERT INTO public.blobs VALUES ('sha256:73d1de6625c6beb76055aa1152f5925cb2823eb1344e66d01b05b0de29c84b02', 3300, '2026-12-06 08:14:20.305367+00', NULL, NULL);
INSERT INTO public.blobs VALUES ('sha256:817f02af8500ae90ee7d6c0930c6f109b93c36b1fe5dee9002ec1c38bd997385', 3300, '2026-12-06 08:14:20.322025+00', NULL, NULL);


--
-- Data for Name: catalogue_tags; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.catalogue_tags VALUES (1, 'v1', 'sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5', 'application/vnd.oci.image.manifest.v1+json', 5672, '[{"os": "linux", "architecture": "amd64", "digest": "sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5", "size": 5672}]', '2026-12-06 08:14:18.071789+00', 'admin');
INSERT INTO public.catalogue_tags VALUES (1, 'v2', 'sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03', 'application/vnd.oci.image.manifest.v1+json', 5672, '[{"os": "linux", "architecture": "amd64", "digest": "sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03", "size": 5672}]', '2026-12-06 08:14:19.19306+00', 'admin');
INSERT INTO public.catalogue_tags VALUES (3, 'latest', 'sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897', 'application/vnd.oci.image.manifest.v1+json', 6677, '[{"os": "linux", "architecture": "amd64", "digest": "sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897", "size": 6677}]', '2026-12-06 08:14:20.34005+00', 'oscar');


--
-- Data for Name: collaborators; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: comments; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.comments VALUES (1, 1, 2, 'old comment', '2026-12-06 08:14:23.814479+00', NULL);


--
-- Data for Name: event_deliveries; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: event_endpoints; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.event_endpoints VALUES ('@catalogue', NULL, NULL, 0, NULL, NULL, NULL, '2026-12-06 08:14:20.349484+00');
INSERT INTO public.event_endpoints VALUES ('@webhooks', NULL, NULL, 0, NULL, NULL, NULL, '2026-12-06 08:14:20.355947+00');


--
-- Data for Name: events; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: immutable_tags; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: maintenance_leases; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: manifest_references; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.manifest_references VALUES (1, 'sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5', 'sha256:f5397d9fc6022fdebae751321fde61e35587445dd21b7272d390179d9b709778', 'blob');
INSERT INTO public.manifest_references VALUES (1, 'sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5', 'sha256:db1742edbe0046b97c42f516afa6bba798abb15703717b6afc9d2ec4e5676f16', 'blob');
INSERT INTO public.manifest_references VALUES (1, 'sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5', 'sha256:f0cc178b2ecf73fc906c9538a096f86812b27836dba60d6e61770f86fb5b7a16', 'blob');
INSERT INTO public.manifest_references VALUES (1, 'sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03', 'sha256:60eccf43d0740666051e398154ba2e28e5b09fdcd406b855b5a5efe1613d5e56', 'blob');
INSERT INTO public.manifest_references VALUES (1, 'sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03', 'sha256:50227c42f19c8fb566e267ce717f501354e8d2968966f69f53c72316925991db', 'blob');
INSERT INTO public.manifest_references VALUES (1, 'sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03', 'sha256:e833d7f8b67fab73d6a91e11d9ac63fa47c5b0c513d72480b0a6b3662000df31', 'blob');
INSERT INTO public.manifest_references VALUES (2, 'sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897', 'sha256:72acc5c336d7ed52544bf548b6dad5973147613a918120cc30b8eefd3507511f', 'blob');
INSERT INTO public.manifest_references VALUES (2, 'sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897', 'sha256:73d1de6625c6beb76055aa1152f5925cb2823eb1344e66d01b05b0de29c84b02', 'blob');
INSERT INTO public.manifest_references VALUES (2, 'sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897', 'sha256:817f02af8500ae90ee7d6c0930c6f109b93c36b1fe5dee9002ec1c38bd997385', 'blob');


--
-- Data for Name: manifests; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.manifests VALUES (1, 'sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5', 'application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.config.v1+json', NULL, 569, '\x7b22736368656d6156657273696f6e223a20322c20226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6d616e69666573742e76312b6a736f6e222c2022636f6e666967223a207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e636f6e6669672e76312b6a736f6e222c2022646967657374223a20227368613235363a66353339376439666336303232666465626165373531333231666465363165333535383734343564643231623732373264333930313739643962373039373738222c202273697a65223a2037327d2c20226c6179657273223a205b7b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a64623137343265646265303034366239376334326635313661666136626261373938616262313537303337313762366166633964326563346535363736663136222c202273697a65223a20323830307d2c207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a66306363313738623265636637336663393036633935333861303936663836383132623237383336646261363064366536313737306638366662356237613136222c202273697a65223a20323830307d5d7d', '2026-12-06 08:14:18.067055+00');
INSERT INTO public.manifests VALUES (1, 'sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03', 'application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.config.v1+json', NULL, 569, '\x7b22736368656d6156657273696f6e223a20322c20226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6d616e69666573742e76312b6a736f6e222c2022636f6e666967223a207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e636f6e6669672e76312b6a736f6e222c2022646967657374223a20227368613235363a36306563636634336430373430363636303531653339383135346261326532386535623039666463643430366238353562356135656665313631336435653536222c202273697a65223a2037327d2c20226c6179657273223a205b7b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a35303232376334326631396338666235363665323637636537313766353031333534653864323936383936366636396635336337323331363932353939316462222c202273697a65223a20323830307d2c207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a65383333643766386236376661623733643661393165313164396163363366613437633562306335313364373234383062306136623336363230303064663331222c202273697a65223a20323830307d5d7d', '2026-12-06 08:14:19.187176+00');
INSERT INTO public.manifests VALUES (2, 'sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897', 'application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.config.v1+json', NULL, 569, '\x7b22736368656d6156657273696f6e223a20322c20226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6d616e69666573742e76312b6a736f6e222c2022636f6e666967223a207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e636f6e6669672e76312b6a736f6e222c2022646967657374223a20227368613235363a37326163633563333336643765643532353434626635343862366461643539373331343736313361393138313230636333306238656566643335303735313166222c202273697a65223a2037377d2c20226c6179657273223a205b7b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a37336431646536363235633662656237363035356161313135326635393235636232383233656231333434653636643031623035623064653239633834623032222c202273697a65223a20333330307d2c207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a38313766303261663835303061653930656537643663303933306336663130396239336333366231666535646565393030326563316333386264393937333835222c202273697a65223a20333330307d5d7d', '2026-12-06 08:14:20.338169+00');


--
-- Data for Name: namespace_quotas; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: namespaces; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.namespaces VALUES ('admin', 'user');
INSERT INTO public.namespaces VALUES ('oscar', 'user');


--
-- Data for Name: organisation_members; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: organisations; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: rate_counters; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: repositories; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.repositories VALUES (1, 'admin/app', '2026-12-06 08:14:17.94946+00');
INSERT INTO public.repositories VALUES (2, 'oscar/tool', '2026-12-06 08:14:20.277403+00');


--
-- Data for Name: repository_blobs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.repository_blobs VALUES (1, 'sha256:db1742edbe0046b97c42f516afa6bba798abb15703717b6afc9d2ec4e5676f16', NULL);
INSERT INTO public.repository_blobs VALUES (1, 'sha256:f0cc178b2ecf73fc906c9538a096f86812b27836dba60d6e61770f86fb5b7a16', NULL);
INSERT INTO public.repository_blobs VALUES (1, 'sha256:f5397d9fc6022fdebae751321fde61e35587445dd21b7272d390179d9b709778', NULL);
INSERT INTO public.repository_blobs VALUES (1, 'sha256:50227c42f19c8fb566e267ce717f501354e8d2968966f69f53c72316925991db', NULL);
INSERT INTO public.repository_blobs VALUES (1, 'sha256:60eccf43d0740666051e398154ba2e28e5b09fdcd406b855b5a5efe1613d5e56', NULL);
INSERT INTO public.repository_blobs VALUES (1, 'sha256:e833d7f8b67fab73d6a91e11d9ac63fa47c5b0c513d72480b0a6b3662000df31', NULL);
INSERT INTO public.repository_blobs VALUES (2, 'sha256:72acc5c336d7ed52544bf548b6dad5973147613a918120cc30b8eefd3507511f', NULL);
INSERT INTO public.repository_blobs VALUES (2, 'sha256:73d1de6625c6beb76055aa1152f5925cb2823eb1344e66d01b05b0de29c84b02', NULL);
INSERT INTO public.repository_blobs VALUES (2, 'sha256:817f02af8500ae90ee7d6c0930c6f109b93c36b1fe5dee9002ec1c38bd997385', NULL);


--
-- Data for Name: repository_settings; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.repository_settings VALUES (3, 'oscar/tool', 'oscar', 'private', '', '2026-12-06 08:14:20.346441+00', 0, NULL, '2026-12-06 08:14:20.34005+00', 1, '', 0);
INSERT INTO public.repository_settings VALUES (1, 'admin/app', 'admin', 'public', '', '2026-12-06 08:14:18.092077+00', 0, NULL, '2026-12-06 08:14:19.19306+00', 2, '', 1);


--
-- Data for Name: retention_policies; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: stars; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.stars VALUES (1, 2, '2026-12-06 08:14:23.285509+00');


--
-- Data for Name: tags; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.tags VALUES (1, 'v1', 'sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5', '2026-12-06 08:14:18.070579+00', NULL);
INSERT INTO public.tags VALUES (1, 'v2', 'sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03', '2026-12-06 08:14:19.19237+00', NULL);
INSERT INTO public.tags VALUES (2, 'latest', 'sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897', '2026-12-06 08:14:20.33958+00', NULL);


--
-- Data for Name: team_members; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: teams; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: upload_pieces; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: uploads; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.users VALUES (1, 'admin', 'admin@localhost', '$argon2id$v=19$m=65536,t=3,p=4$Tofau+EWr3JOowr3t97n6A$Mn4BeEUX5ow3yyBLYPit5r2Q/s+xNhFezvpU37iHDh0', true, '2026-12-06 08:14:16.437792+00', NULL, NULL);
INSERT INTO public.users VALUES (2, 'oscar', 'oscar@example.com', '$argon2id$v=19$m=65536,t=3,p=4$xhU4sc32TKweMthEDY8Jzg$tIXlXZTaId01N59QAQDZ7FtYRbTmJEk+RjP7+HufT18', false, '2026-12-06 08:14:17.368525+00', NULL, NULL);


--
-- Data for Name: web_sessions; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: webhook_attempts; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: webhook_deliveries; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: webhooks; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Name: access_tokens_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.access_tokens_id_seq', 1, false);


--
-- Name: collaborators_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.collaborators_id_seq', 1, false);


--
-- Name: comments_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.comments_id_seq', 1, true);


--
-- Name: events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.events_id_seq', 3, true);


--
-- Name: organisations_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.organisations_id_seq', 1, false);


--
-- Name: repositories_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.repositories_id_seq', 2, true);


--
-- Name: repository_settings_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.repository_settings_id_seq', 3, true);


--
-- Name: teams_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.teams_id_seq', 1, false);


--
-- Name: users_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.users_id_seq', 2, true);


--
-- Name: webhook_attempts_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhook_attempts_id_seq', 1, false);


--
-- Name: webhook_deliveries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhook_deliveries_id_seq', 1, false);


--
-- Name: webhooks_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhooks_id_seq', 1, false);


--
-- Name: access_tokens access_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_tokens
    ADD CONSTRAINT access_tokens_pkey PRIMARY KEY (id);


--
-- Name: access_tokens access_tokens_secret_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_tokens
    ADD CONSTRAINT access_tokens_secret_hash_key UNIQUE (secret_hash);


--
-- Name: alembic_version alembic_version_pkc; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alembic_version
    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);


--
-- Name: blobs blobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.blobs
    ADD CONSTRAINT blobs_pkey PRIMARY KEY (digest);


--
-- Name: catalogue_tags catalogue_tags_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.catalogue_tags
    ADD CONSTRAINT catalogue_tags_pkey PRIMARY KEY (repository_id, tag);


--
-- Name: collaborators collaborators_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collaborators
    ADD CONSTRAINT collaborators_pkey PRIMARY KEY (id);


--
-- Name: comments comments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.comments
    ADD CONSTRAINT comments_pkey PRIMARY KEY (id);


--
-- Name: event_deliveries event_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.event_deliveries
    ADD CONSTRAINT event_deliveries_pkey PRIMARY KEY (endpoint, event_id);


--
-- Name: event_endpoints event_endpoints_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.event_endpoints
    ADD CONSTRAINT event_endpoints_pkey PRIMARY KEY (name);


--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (id);


--
-- Name: immutable_tags immutable_tags_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.immutable_tags
    ADD CONSTRAINT immutable_tags_pkey PRIMARY KEY (namespace, repository, pattern);


--
-- Name: maintenance_leases maintenance_leases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.maintenance_leases
    ADD CONSTRAINT maintenance_leases_pkey PRIMARY KEY (name);


--
-- Name: manifest_references manifest_references_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.manifest_references
    ADD CONSTRAINT manifest_references_pkey PRIMARY KEY (repository_id, digest, reference);


--
-- Name: manifests manifests_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.manifests
    ADD CONSTRAINT manifests_pkey PRIMARY KEY (repository_id, digest);


--
-- Name: namespace_quotas namespace_quotas_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.namespace_quotas
    ADD CONSTRAINT namespace_quotas_pkey PRIMARY KEY (namespace);


--
-- Name: namespaces namespaces_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.namespaces
    ADD CONSTRAINT namespaces_pkey PRIMARY KEY (name);


--
-- Name: organisation_members organisation_members_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organisation_members
    ADD CONSTRAINT organisation_members_pkey PRIMARY KEY (organisation_id, user_id);


--
-- Name: organisations organisations_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organisations
    ADD CONSTRAINT organisations_name_key UNIQUE (name);


--
-- Name: organisations organisations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organisations
    ADD CONSTRAINT organisations_pkey PRIMARY KEY (id);


--
-- Name: rate_counters rate_counters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rate_counters
    ADD CONSTRAINT rate_counters_pkey PRIMARY KEY (key);


--
-- Name: repositories repositories_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.repositories
    ADD CONSTRAINT repositories_name_key UNIQUE (name);


--
-- Name: repositories repositories_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.repositories
    ADD CONSTRAINT repositories_pkey PRIMARY KEY (id);


--
-- Name: repository_blobs repository_blobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.repository_blobs
    ADD CONSTRAINT repository_blobs_pkey PRIMARY KEY (repository_id, digest);


--
-- Name: repository_settings repository_settings_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.repository_settings
    ADD CONSTRAINT repository_settings_name_key UNIQUE (name);


--
-- Name: repository_settings repository_settings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.repository_settings
    ADD CONSTRAINT repository_settings_pkey PRIMARY KEY (id);


--
-- Name: retention_policies retention_policies_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.retention_policies
    ADD CONSTRAINT retention_policies_pkey PRIMARY KEY (namespace, repository);


--
-- Name: stars stars_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stars
    ADD CONSTRAINT stars_pkey PRIMARY KEY (repository_id, user_id);


--
-- Name: tags tags_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tags
    ADD CONSTRAINT tags_pkey PRIMARY KEY (repository_id, name);


--
-- Name: team_members team_members_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.team_members
    ADD CONSTRAINT team_members_pkey PRIMARY KEY (team_id, user_id);


--
-- Name: teams teams_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.teams
    ADD CONSTRAINT teams_pkey PRIMARY KEY (id);


--
-- Name: upload_pieces upload_pieces_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.upload_pieces
    ADD CONSTRAINT upload_pieces_pkey PRIMARY KEY (upload_id, "position");


--
-- Name: uploads uploads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.uploads
    ADD CONSTRAINT uploads_pkey PRIMARY KEY (id);


--
-- Name: access_tokens uq_access_tokens_name; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_tokens
    ADD CONSTRAINT uq_access_tokens_name UNIQUE (user_id, name);


--
-- Name: collaborators uq_collaborators_team; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collaborators
    ADD CONSTRAINT uq_collaborators_team UNIQUE (repository_id, team_id);


--
-- Name: collaborators uq_collaborators_user; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collaborators
    ADD CONSTRAINT uq_collaborators_user UNIQUE (repository_id, user_id);


--
-- Name: teams uq_teams_organisation_name; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.teams
    ADD CONSTRAINT uq_teams_organisation_name UNIQUE (organisation_id, name);


--
-- Name: webhook_deliveries uq_webhook_deliveries_event; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT uq_webhook_deliveries_event UNIQUE (hook_id, event_uuid);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: users users_username_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_username_key UNIQUE (username);


--
-- Name: web_sessions web_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.web_sessions
    ADD CONSTRAINT web_sessions_pkey PRIMARY KEY (id_hash);


--
-- Name: webhook_attempts webhook_attempts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_pkey PRIMARY KEY (id);


--
-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);


--
-- Name: webhooks webhooks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT webhooks_pkey PRIMARY KEY (id);


--
-- Name: ix_catalogue_tags_digest; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_catalogue_tags_digest ON public.catalogue_tags USING btree (repository_id, digest);


--
-- Name: ix_catalogue_tags_newest; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_catalogue_tags_newest ON public.catalogue_tags USING btree (repository_id, pushed_at DESC, tag);


--
-- Name: ix_collaborators_team; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_collaborators_team ON public.collaborators USING btree (team_id);


--
-- Name: ix_collaborators_user; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_collaborators_user ON public.collaborators USING btree (user_id);


--
-- Name: ix_comments_repository_created; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_comments_repository_created ON public.comments USING btree (repository_id, created_at);


--
-- Name: ix_event_deliveries_event_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_event_deliveries_event_id ON public.event_deliveries USING btree (event_id);


--
-- Name: ix_events_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_events_created_at ON public.events USING btree (created_at);


--
-- Name: ix_manifest_references_reference; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_manifest_references_reference ON public.manifest_references USING btree (reference);


--
-- Name: ix_manifests_subject; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_manifests_subject ON public.manifests USING btree (repository_id, subject);


--
-- Name: ix_rate_counters_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_rate_counters_expires_at ON public.rate_counters USING btree (expires_at);


--
-- Name: ix_repository_blobs_digest; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_blobs_digest ON public.repository_blobs USING btree (digest);


--
-- Name: ix_repository_settings_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_created_at ON public.repository_settings USING btree (created_at);


--
-- Name: ix_repository_settings_description_squeezed_trgm; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_description_squeezed_trgm ON public.repository_settings USING gin (translate(lower(description), '-_./'::text, ''::text) public.gin_trgm_ops);


--
-- Name: ix_repository_settings_description_trgm; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_description_trgm ON public.repository_settings USING gin (lower(description) public.gin_trgm_ops);


--
-- Name: ix_repository_settings_full_description_squeezed_trgm; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_full_description_squeezed_trgm ON public.repository_settings USING gin (translate(lower(full_description), '-_./'::text, ''::text) public.gin_trgm_ops);


--
-- Name: ix_repository_settings_full_description_trgm; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_full_description_trgm ON public.repository_settings USING gin (lower(full_description) public.gin_trgm_ops);


--
-- Name: ix_repository_settings_last_component; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_last_component ON public.repository_settings USING btree (split_part((name)::text, '/'::text, '-1'::integer));


--
-- Name: ix_repository_settings_last_push_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_last_push_at ON public.repository_settings USING btree (last_push_at);


--
-- Name: ix_repository_settings_name_squeezed_trgm; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_name_squeezed_trgm ON public.repository_settings USING gin (translate(lower((name)::text), '-_./'::text, ''::text) public.gin_trgm_ops);


--
-- Name: ix_repository_settings_name_trgm; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_name_trgm ON public.repository_settings USING gin (lower((name)::text) public.gin_trgm_ops);


--
-- Name: ix_repository_settings_namespace_name; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_namespace_name ON public.repository_settings USING btree (namespace, name);


--
-- Name: ix_repository_settings_pull_count; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_pull_count ON public.repository_settings USING btree (pull_count);


--
-- Name: ix_repository_settings_star_count; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_star_count ON public.repository_settings USING btree (star_count);


--
-- Name: ix_repository_settings_visibility_name; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_repository_settings_visibility_name ON public.repository_settings USING btree (visibility, name);


--
-- Name: ix_stars_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_stars_user_id ON public.stars USING btree (user_id, created_at);


--
-- Name: ix_tags_digest; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_tags_digest ON public.tags USING btree (repository_id, digest);


--
-- Name: ix_uploads_digest; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_uploads_digest ON public.uploads USING btree (digest);


--
-- Name: ix_web_sessions_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_web_sessions_expires_at ON public.web_sessions USING btree (expires_at);


--
-- Name: ix_web_sessions_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_web_sessions_user_id ON public.web_sessions USING btree (user_id);


--
-- Name: ix_webhook_attempts_delivery; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_webhook_attempts_delivery ON public.webhook_attempts USING btree (delivery_id, id);


--
-- Name: ix_webhook_deliveries_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_webhook_deliveries_due ON public.webhook_deliveries USING btree (state, next_attempt_at);


--
-- Name: ix_webhook_deliveries_hook; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_webhook_deliveries_hook ON public.webhook_deliveries USING btree (hook_id, id);


--
-- Name: ix_webhooks_organisation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_webhooks_organisation ON public.webhooks USING btree (organisation_id);


--
-- Name: ix_webhooks_repository; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_webhooks_repository ON public.webhooks USING btree (repository_id);


--
-- Name: access_tokens access_tokens_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_tokens
    ADD CONSTRAINT access_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: catalogue_tags catalogue_tags_repository_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.catalogue_tags
    ADD CONSTRAINT catalogue_tags_repository_id_fkey FOREIGN KEY (repository_id) REFERENCES public.repository_settings(id);


--
-- Name: collaborators collaborators_repository_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collaborators
    ADD CONSTRAINT collaborators_repository_id_fkey FOREIGN KEY (repository_id) REFERENCES public.repository_settings(id);


--
-- Name: collaborators collaborators_team_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collaborators
    ADD CONSTRAINT collaborators_team_id_fkey FOREIGN KEY (team_id) REFERENCES public.teams(id);


--
-- Name: collaborators collaborators_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collaborators
    ADD CONSTRAINT collaborators_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: comments comments_repository_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.comments
    ADD CONSTRAINT comments_repository_id_fkey FOREIGN KEY (repository_id) REFERENCES public.repository_settings(id);


--
-- Name: comments comments_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.comments
    ADD CONSTRAINT comments_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: event_deliveries event_deliveries_event_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.event_deliveries
    ADD CONSTRAINT event_deliveries_event_id_fkey FOREIGN KEY (event_id) REFERENCES public.events(id);


--
-- Name: manifest_references manifest_references_repository_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.manifest_references
    ADD CONSTRAINT manifest_references_repository_id_fkey FOREIGN KEY (repository_id) REFERENCES public.repositories(id);


--
-- Name: manifests manifests_repository_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.manifests
    ADD CONSTRAINT manifests_repository_id_fkey FOREIGN KEY (repository_id) REFERENCES public.repositories(id);


--
-- Name: organisation_members organisation_members_organisation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organisation_members
    ADD CONSTRAINT organisation_members_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);


--
-- Name: organisation_members organisation_members_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organisation_members
    ADD CONSTRAINT organisation_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: repository_blobs repository_blobs_digest_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.repository_blobs
    ADD CONSTRAINT repository_blobs_digest_fkey FOREIGN KEY (digest) REFERENCES public.blobs(digest);


--
-- Name: repository_blobs repository_blobs_repository_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.repository_blobs
    ADD CONSTRAINT repository_blobs_repository_id_fkey FOREIGN KEY (repository_id) REFERENCES public.repositories(id);


--
-- Name: stars stars_repository_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stars
    ADD CONSTRAINT stars_repository_id_fkey FOREIGN KEY (repository_id) REFERENCES public.repository_settings(id);


--
-- Name: stars stars_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stars
    ADD CONSTRAINT stars_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: tags tags_repository_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tags
    ADD CONSTRAINT tags_repository_id_fkey FOREIGN KEY (repository_id) REFERENCES public.repositories(id);


--
-- Name: team_members team_members_team_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.team_members
    ADD CONSTRAINT team_members_team_id_fkey FOREIGN KEY (team_id) REFERENCES public.teams(id);


--
-- Name: team_members team_members_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.team_members
    ADD CONSTRAINT team_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: teams teams_organisation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.teams
    ADD CONSTRAINT teams_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id);


--
-- Name: upload_pieces upload_pieces_upload_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.upload_pieces
    ADD CONSTRAINT upload_pieces_upload_id_fkey FOREIGN KEY (upload_id) REFERENCES public.uploads(id);


--
-- Name: uploads uploads_repository_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.uploads
    ADD CONSTRAINT uploads_repository_id_fkey FOREIGN KEY (repository_id) REFERENCES public.repositories(id);


--
-- Name: web_sessions web_sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.web_sessions
    ADD CONSTRAINT web_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: webhook_attempts webhook_attempts_delivery_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES public.webhook_deliveries(id) ON DELETE CASCADE;


--
-- Name: webhook_deliveries webhook_deliveries_hook_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_hook_id_fkey FOREIGN KEY (hook_id) REFERENCES public.webhooks(id) ON DELETE CASCADE;


--
-- Name: webhooks webhooks_organisation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT webhooks_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id) ON DELETE CASCADE;


--
-- Name: webhooks webhooks_repository_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT webhooks_repository_id_fkey FOREIGN KEY (repository_id) REFERENCES public.repository_settings(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--


