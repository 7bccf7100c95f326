PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version VALUES('0020');
CREATE TABLE repositories (
	id INTEGER NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
INSERT INTO repositories VALUES(1,'admin/app','2026-12-05 22:15:41.180691');
INSERT INTO repositories VALUES(2,'oscar/tool','2026-12-05 22:15:41.806027');
CREATE TABLE blobs (
	digest VARCHAR(200) NOT NULL, 
	size BIGINT NOT NULL, 
	created_at DATETIME NOT NULL, unreferenced_since DATETIME, deleting_since DATETIME, 
	PRIMARY KEY (digest)
);
INSERT INTO blobs VALUES('sha256:f5397d9fc6022fdebae751321fde61e35587445dd21b7272d390179d9b709778',72,'2026-12-05 22:15:41.187377',NULL,NULL);
INSERT INTO blobs VALUES('sha256:db1742edbe0046b97c42f516afa6bba798abb15703717b6afc9d2ec4e5676f16',2800,'2026-12-05 22:15:41.207343',NULL,NULL);
INSERT INTO blobs VALUES('sha256:f0cc178b2ecf73fc906c9538a096f86812b27836dba60d6e61770f86fb5b7a16',2800,'2026-12-05 22:15:41.215322',NULL,NULL);
INSERT INTO blobs VALUES('sha256:60eccf43d0740666051e398154ba2e28e5b09fdcd406b855b5a5efe1613d5e56',72,'2026-12-05 22:15:41.495931',NULL,NULL);
INSERT INTO blobs VALUES('sha256:50227c42f19c8fb566e267ce717f501354e8d2968966f69f53c72316925991db',2800,'2026-12-05 22:15:41.504325',NULL,NULL);
INSERT INTO blobs VALUES('sha256:e833d7f8b67fab73d6a91e11d9ac63fa47c5b0c513d72480b0a6b3662000df31',2800,'2026-12-05 22:15:41.514461',NULL,NULL);
INSERT INTO blobs VALUES('sha256:72acc5c336d7ed52544bf548b6dad5973147613a918120cc30b8eefd3507511f',77,'2026-12-05 22:15:41.809305',NULL,NULL);
INSERT INTO blobs VALUES('sha256:73d1de6625c6beb76055aa1152f5925cb2823eb1344e66d01b05b0de29c84b02',3300,'2026-12-05 22:15:41.823842',NULL,NULL);
INSERT INTO blobs VALUES('sha256:817f02af8500ae90ee7d6c0930c6f109b93c36b1fe5dee9002ec1c38bd997385',3300,'2026-12-05 22:15:41.831632',NULL,NULL);
CREATE TABLE repository_blobs (
	repository_id INTEGER NOT NULL, 
	digest VARCHAR(200) NOT NULL, unreferenced_since DATETIME, 
	PRIMARY KEY (repository_id, digest), 
	FOREIGN KEY(repository_id) REFERENCES repositories (id), 
	FOREIGN KEY(digest) REFERENCES blobs (digest)
);
INSERT INTO repository_blobs VALUES(1,'sha256:f5397d9fc6022fdebae751321fde61e35587445dd21b7272d390179d9b709778',NULL);
INSERT INTO repository_blobs VALUES(1,'sha256:db1742edbe0046b97c42f516afa6bba798abb15703717b6afc9d2ec4e5676f16',NULL);
INSERT INTO repository_blobs VALUES(1,'sha256:f0cc178b2ecf73fc906c9538a096f86812b27836dba60d6e61770f86fb5b7a16',NULL);
INSERT INTO repository_blobs VALUES(1,'sha256:60eccf43d0740666051e398154ba2e28e5b09fdcd406b855b5a5efe1613d5e56',NULL);
INSERT INTO repository_blobs VALUES(1,'sha256:50227c42f19c8fb566e267ce717f501354e8d2968966f69f53c72316925991db',NULL);
INSERT INTO repository_blobs VALUES(1,'sha256:e833d7f8b67fab73d6a91e11d9ac63fa47c5b0c513d72480b0a6b3662000df31',NULL);
INSERT INTO repository_blobs VALUES(2,'sha256:72acc5c336d7ed52544bf548b6dad5973147613a918120cc30b8eefd3507511f',NULL);
INSERT INTO repository_blobs VALUES(2,'sha256:73d1de6625c6beb76055aa1152f5925cb2823eb1344e66d01b05b0de29c84b02',NULL);
INSERT INTO repository_blobs VALUES(2,'sha256:817f02af8500ae90ee7d6c0930c6f109b93c36b1fe5dee9002ec1c38bd997385',NULL);
CREATE TABLE manifests (
	repository_id INTEGER NOT NULL, 
	digest VARCHAR(200) NOT NULL, 
	media_type VARCHAR(255) NOT NULL, 
	artifact_type VARCHAR(255), 
	subject VARCHAR(200), 
	size BIGINT NOT NULL, 
	body BLOB NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (repository_id, digest), 
	FOREIGN KEY(repository_id) REFERENCES repositories (id)
);
INSERT INTO manifests VALUES(1,'sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5','application/vnd.oci.image.manifest.v1+json','application/vnd.oci.image.config.v1+json',NULL,569,X'7b22736368656d6156657273696f6e223a20322c20226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6d616e69666573742e76312b6a736f6e222c2022636f6e666967223a207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e636f6e6669672e76312b6a736f6e222c2022646967657374223a20227368613235363a66353339376439666336303232666465626165373531333231666465363165333535383734343564643231623732373264333930313739643962373039373738222c202273697a65223a2037327d2c20226c6179657273223a205b7b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a64623137343265646265303034366239376334326635313661666136626261373938616262313537303337313762366166633964326563346535363736663136222c202273697a65223a20323830307d2c207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a66306363313738623265636637336663393036633935333861303936663836383132623237383336646261363064366536313737306638366662356237613136222c202273697a65223a20323830307d5d7d','2026-12-05 22:15:41.225497');
INSERT INTO manifests VALUES(1,'sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03','application/vnd.oci.image.manifest.v1+json','application/vnd.oci.image.config.v1+json',NULL,569,X'7b22736368656d6156657273696f6e223a20322c20226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6d616e69666573742e76312b6a736f6e222c2022636f6e666967223a207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e636f6e6669672e76312b6a736f6e222c2022646967657374223a20227368613235363a36306563636634336430373430363636303531653339383135346261326532386535623039666463643430366238353562356135656665313631336435653536222c202273697a65223a2037327d2c20226c6179657273223a205b7b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a35303232376334326631396338666235363665323637636537313766353031333534653864323936383936366636396635336337323331363932353939316462222c202273697a65223a20323830307d2c207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a65383333643766386236376661623733643661393165313164396163363366613437633562306335313364373234383062306136623336363230303064663331222c202273697a65223a20323830307d5d7d','2026-12-05 22:15:41.520719');
INSERT INTO manifests VALUES(2,'sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897','application/vnd.oci.image.manifest.v1+json','application/vnd.oci.image.config.v1+json',NULL,569,X'7b22736368656d6156657273696f6e223a20322c20226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6d616e69666573742e76312b6a736f6e222c2022636f6e666967223a207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e636f6e6669672e76312b6a736f6e222c2022646967657374223a20227368613235363a37326163633563333336643765643532353434626635343862366461643539373331343736313361393138313230636333306238656566643335303735313166222c202273697a65223a2037377d2c20226c6179657273223a205b7b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a37336431646536363235633662656237363035356161313135326635393235636232383233656231333434653636643031623035623064653239633834623032222c202273697a65223a20333330307d2c207b226d6564696154797065223a20226170706c69636174696f6e2f766e642e6f63692e696d6167652e6c617965722e76312e746172222c2022646967657374223a20227368613235363a38313766303261663835303061653930656537643663303933306336663130396239336333366231666535646565393030326563316333386264393937333835222c202273697a65223a20333330307d5d7d','2026-12-05 22:15:41.842835');
CREATE TABLE tags (
	repository_id INTEGER NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	digest VARCHAR(200) NOT NULL, 
	updated_at DATETIME NOT NULL, last_pulled_at DATETIME, 
	PRIMARY KEY (repository_id, name), 
	FOREIGN KEY(repository_id) REFERENCES repositories (id)
);
INSERT INTO tags VALUES(1,'v1','sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5','2026-12-05 22:15:41.227678',NULL);
INSERT INTO tags VALUES(1,'v2','sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03','2026-12-05 22:15:41.523618',NULL);
INSERT INTO tags VALUES(2,'latest','sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897','2026-12-05 22:15:41.843544',NULL);
CREATE TABLE uploads (
	id VARCHAR(36) NOT NULL, 
	repository_id INTEGER NOT NULL, 
	size BIGINT NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, hash_state BLOB, digest VARCHAR(200), 
	PRIMARY KEY (id), 
	FOREIGN KEY(repository_id) REFERENCES repositories (id)
);
CREATE TABLE users (
	id INTEGER NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	email VARCHAR(255) NOT NULL, 
	password_hash VARCHAR(255) NOT NULL, 
	is_admin BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, disabled_at DATETIME, credentials_changed_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (username)
);
INSERT INTO users VALUES(1,'admin','admin@localhost','$argon2id$v=19$m=65536,t=3,p=4$AlTEDQAulkLd72duPqRwMQ$/Z5B5tp2+WgZDAXM126tw4BmzWD4lUuWVjtgksg1uvE',1,'2026-12-05 22:15:40.399245',NULL,NULL);
INSERT INTO users VALUES(2,'oscar','o@example.com','$argon2id$v=19$m=65536,t=3,p=4$+myUVwSUySxRFuVr7PalbQ$L/wQDvVsjb/GN/Jt7qX26GegqAVFHr3QOPV/x4J+xf8',0,'2026-12-05 22:15:40.899562',NULL,NULL);
CREATE TABLE organisations (
	id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
CREATE TABLE organisation_members (
	organisation_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	PRIMARY KEY (organisation_id, user_id), 
	FOREIGN KEY(organisation_id) REFERENCES organisations (id), 
	FOREIGN KEY(user_id) REFERENCES users (id)
);
CREATE TABLE teams (
	id INTEGER NOT NULL, 
	organisation_id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_teams_organisation_name UNIQUE (organisation_id, name), 
	FOREIGN KEY(organisation_id) REFERENCES organisations (id)
);
CREATE TABLE team_members (
	team_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	PRIMARY KEY (team_id, user_id), 
	FOREIGN KEY(team_id) REFERENCES teams (id), 
	FOREIGN KEY(user_id) REFERENCES users (id)
);
CREATE TABLE repository_settings (
	id INTEGER NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	namespace VARCHAR(64) NOT NULL, 
	visibility VARCHAR(16) NOT NULL, 
	description TEXT NOT NULL, 
	created_at DATETIME NOT NULL, pull_count BIGINT DEFAULT '0' NOT NULL, last_pull_at DATETIME, last_push_at DATETIME, tag_count INTEGER DEFAULT '0' NOT NULL, full_description TEXT DEFAULT '' NOT NULL, star_count INTEGER DEFAULT '0' NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
INSERT INTO repository_settings VALUES(1,'admin/app','admin','public','','2026-12-05 22:15:41.239386',0,NULL,'2026-12-05 22:15:41.523843',2,'',1);
INSERT INTO repository_settings VALUES(2,'oscar/tool','oscar','private','','2026-12-05 22:15:41.847415',0,NULL,'2026-12-05 22:15:41.844006',1,'',0);
CREATE TABLE collaborators (
	id INTEGER NOT NULL, 
	repository_id INTEGER NOT NULL, 
	user_id INTEGER, 
	team_id INTEGER, 
	role VARCHAR(16) NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_collaborators_user UNIQUE (repository_id, user_id), 
	CONSTRAINT uq_collaborators_team UNIQUE (repository_id, team_id), 
	FOREIGN KEY(repository_id) REFERENCES repository_settings (id), 
	FOREIGN KEY(user_id) REFERENCES users (id), 
	FOREIGN KEY(team_id) REFERENCES teams (id)
);
CREATE TABLE access_tokens (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	secret_hash VARCHAR(64) NOT NULL, 
	scopes VARCHAR(64) NOT NULL, 
	expires_at DATETIME, 
	revoked_at DATETIME, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_access_tokens_name UNIQUE (user_id, name), 
	FOREIGN KEY(user_id) REFERENCES users (id), 
	UNIQUE (secret_hash)
);
CREATE TABLE upload_pieces (
	upload_id VARCHAR(36) NOT NULL, 
	position INTEGER NOT NULL, 
	storage_key VARCHAR(512) NOT NULL, 
	size BIGINT NOT NULL, 
	PRIMARY KEY (upload_id, position), 
	FOREIGN KEY(upload_id) REFERENCES uploads (id)
);
CREATE TABLE events (
	id INTEGER NOT NULL, 
	uuid VARCHAR(36) NOT NULL, 
	action VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	body TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE event_deliveries (
	endpoint VARCHAR(255) NOT NULL, 
	event_id INTEGER NOT NULL, 
	attempts INTEGER NOT NULL, 
	PRIMARY KEY (endpoint, event_id), 
	FOREIGN KEY(event_id) REFERENCES events (id)
);
CREATE TABLE event_endpoints (
	name VARCHAR(255) NOT NULL, 
	lease_owner VARCHAR(64), 
	lease_until DATETIME, 
	failures INTEGER NOT NULL, 
	next_attempt_at DATETIME, 
	last_error TEXT, 
	last_failure_at DATETIME, 
	last_success_at DATETIME, 
	PRIMARY KEY (name)
);
INSERT INTO event_endpoints VALUES('@catalogue',NULL,NULL,0,NULL,NULL,NULL,'2026-12-05 22:15:41.848874');
INSERT INTO event_endpoints VALUES('@webhooks',NULL,NULL,0,NULL,NULL,NULL,'2026-12-05 22:15:41.852241');
CREATE TABLE catalogue_tags (
	repository_id INTEGER NOT NULL, 
	tag VARCHAR(128) NOT NULL, 
	digest VARCHAR(200) NOT NULL, 
	media_type VARCHAR(255) NOT NULL, 
	size BIGINT, 
	platforms TEXT NOT NULL, 
	pushed_at DATETIME NOT NULL, 
	pushed_by VARCHAR(255), 
	PRIMARY KEY (repository_id, tag), 
	FOREIGN KEY(repository_id) REFERENCES repository_settings (id)
);
INSERT INTO catalogue_tags VALUES(1,'v1','sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5','application/vnd.oci.image.manifest.v1+json',5672,'[{"os": "linux", "architecture": "amd64", "digest": "sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5", "size": 5672}]','2026-12-05 22:15:41.228184','admin');
INSERT INTO catalogue_tags VALUES(1,'v2','sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03','application/vnd.oci.image.manifest.v1+json',5672,'[{"os": "linux", "architecture": "amd64", "digest": "sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03", "size": 5672}]','2026-12-05 22:15:41.523843','admin');
INSERT INTO catalogue_tags VALUES(2,'latest','sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897','application/vnd.oci.image.manifest.v1+json',6677,'[{"os": "linux", "architecture": "amd64", "digest": "sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897", "size": 6677}]','2026-12-05 22:15:41.844006','oscar');
CREATE TABLE stars (
	repository_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (repository_id, user_id), 
	FOREIGN KEY(repository_id) REFERENCES repository_settings (id), 
	FOREIGN KEY(user_id) REFERENCES users (id)
);
INSERT INTO stars VALUES(1,2,'2026-12-05 22:15:42.074918');
CREATE TABLE comments (
	id INTEGER NOT NULL, 
	repository_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	body TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(repository_id) REFERENCES repository_settings (id), 
	FOREIGN KEY(user_id) REFERENCES users (id)
);
INSERT INTO comments VALUES(1,1,2,'old comment','2026-12-05 22:15:42.307490',NULL);
CREATE TABLE webhooks (
	id INTEGER NOT NULL, 
	repository_id INTEGER, 
	organisation_id INTEGER, 
	name VARCHAR(64) NOT NULL, 
	url TEXT NOT NULL, 
	secret VARCHAR(128) NOT NULL, 
	events VARCHAR(64) NOT NULL, 
	active BOOLEAN NOT NULL, 
	disabled_reason TEXT, 
	failures_in_a_row INTEGER DEFAULT '0' NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_webhooks_one_owner CHECK ((repository_id IS NULL) <> (organisation_id IS NULL)), 
	FOREIGN KEY(repository_id) REFERENCES repository_settings (id) ON DELETE CASCADE, 
	FOREIGN KEY(organisation_id) REFERENCES organisations (id) ON DELETE CASCADE
);
CREATE TABLE webhook_deliveries (
	id INTEGER NOT NULL, 
	hook_id INTEGER NOT NULL, 
	event_uuid VARCHAR(64) NOT NULL, 
	event VARCHAR(16) NOT NULL, 
	payload TEXT NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	lease_owner VARCHAR(64), 
	lease_until DATETIME, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_webhook_deliveries_event UNIQUE (hook_id, event_uuid), 
	FOREIGN KEY(hook_id) REFERENCES webhooks (id) ON DELETE CASCADE
);
CREATE TABLE webhook_attempts (
	id INTEGER NOT NULL, 
	delivery_id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	status_code INTEGER, 
	error TEXT, 
	duration_ms INTEGER NOT NULL, 
	response TEXT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(delivery_id) REFERENCES webhook_deliveries (id) ON DELETE CASCADE
);
CREATE TABLE namespaces (
	name VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	PRIMARY KEY (name)
);
INSERT INTO namespaces VALUES('admin','user');
INSERT INTO namespaces VALUES('oscar','user');
PRAGMA writable_schema=ON;
INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql)VALUES('table','repository_search','repository_search',0,'CREATE VIRTUAL TABLE repository_search USING fts5(name, description, full_description, content=''repository_settings'', content_rowid=''id'', tokenize=''trigram'')');
CREATE TABLE IF NOT EXISTS 'repository_search_data'(id INTEGER PRIMARY KEY, block BLOB);
INSERT INTO repository_search_data VALUES(1,X'020f0000');
INSERT INTO repository_search_data VALUES(10,X'000000000102020002010101020101');
INSERT INTO repository_search_data VALUES(137438953473,X'0000003b04302f6170010207010361646d010202020270700102080103646d690102030103696e2f01020501036d696e01020401036e2f6101020604080807080808');
INSERT INTO repository_search_data VALUES(274877906945,X'0000004304302f746f020207010361722f020205010363617202020401036f6f6c020209020273630202020103722f7402020601037363610202030103746f6f0202080408080808070808');
CREATE TABLE IF NOT EXISTS 'repository_search_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
INSERT INTO repository_search_idx VALUES(1,X'',2);
INSERT INTO repository_search_idx VALUES(2,X'',2);
CREATE TABLE IF NOT EXISTS 'repository_search_docsize'(id INTEGER PRIMARY KEY, sz BLOB);
INSERT INTO repository_search_docsize VALUES(1,X'070000');
INSERT INTO repository_search_docsize VALUES(2,X'080000');
CREATE TABLE IF NOT EXISTS 'repository_search_config'(k PRIMARY KEY, v) WITHOUT ROWID;
INSERT INTO repository_search_config VALUES('version',4);
CREATE TABLE web_sessions (
	id_hash VARCHAR(64) NOT NULL, 
	user_id INTEGER NOT NULL, 
	csrf_token VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (id_hash), 
	FOREIGN KEY(user_id) REFERENCES users (id)
);
CREATE TABLE manifest_references (
	repository_id INTEGER NOT NULL, 
	digest VARCHAR(200) NOT NULL, 
	reference VARCHAR(200) NOT NULL, 
	kind VARCHAR(8) NOT NULL, 
	PRIMARY KEY (repository_id, digest, reference), 
	FOREIGN KEY(repository_id) REFERENCES repositories (id)
);
INSERT INTO manifest_references VALUES(1,'sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5','sha256:f5397d9fc6022fdebae751321fde61e35587445dd21b7272d390179d9b709778','blob');
INSERT INTO manifest_references VALUES(1,'sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5','sha256:db1742edbe0046b97c42f516afa6bba798abb15703717b6afc9d2ec4e5676f16','blob');
INSERT INTO manifest_references VALUES(1,'sha256:21c147124be2c2713c98417345ecf04fb2d0a32720faa56214a4c394a9f434a5','sha256:f0cc178b2ecf73fc906c9538a096f86812b27836dba60d6e61770f86fb5b7a16','blob');
INSERT INTO manifest_references VALUES(1,'sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03','sha256:60eccf43d0740666051e398154ba2e28e5b09fdcd406b855b5a5efe1613d5e56','blob');
INSERT INTO manifest_references VALUES(1,'sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03','sha256:50227c42f19c8fb566e267ce717f501354e8d2968966f69f53c72316925991db','blob');
INSERT INTO manifest_references VALUES(1,'sha256:6c37213e8117f754d347340964d3a000c9cef8fd22ff2d5c7d1893216280ea03','sha256:e833d7f8b67fab73d6a91e11d9ac63fa47c5b0c513d72480b0a6b3662000df31','blob');
INSERT INTO manifest_references VALUES(2,'sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897','sha256:72acc5c336d7ed52544bf548b6dad5973147613a918120cc30b8eefd3507511f','blob');
INSERT INTO manifest_references VALUES(2,'sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897','sha256:73d1de6625c6beb76055aa1152f5925cb2823eb1344e66d01b05b0de29c84b02','blob');
INSERT INTO manifest_references VALUES(2,'sha256:26829231f35eb76ea9f82b57f553a78b28982afb64f8140aaf7ab5785e02a897','sha256:817f02af8500ae90ee7d6c0930c6f109b93c36b1fe5dee9002ec1c38bd997385','blob');
CREATE TABLE maintenance_leases (
	name VARCHAR(64) NOT NULL, 
	owner VARCHAR(64), 
	until DATETIME, 
	last_finished_at DATETIME, 
	PRIMARY KEY (name)
);
CREATE TABLE namespace_quotas (
	namespace VARCHAR(255) NOT NULL, 
	max_bytes BIGINT, 
	max_repositories INTEGER, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (namespace)
);
CREATE TABLE immutable_tags (
	namespace VARCHAR(255) NOT NULL, 
	repository VARCHAR(255) NOT NULL, 
	pattern VARCHAR(128) NOT NULL, 
	PRIMARY KEY (namespace, repository, pattern)
);
CREATE TABLE retention_policies (
	namespace VARCHAR(255) NOT NULL, 
	repository VARCHAR(255) NOT NULL, 
	keep_last INTEGER, 
	keep_days FLOAT, 
	"match" VARCHAR(128) NOT NULL, 
	protect TEXT NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (namespace, repository)
);
CREATE TABLE rate_counters (
	"key" VARCHAR(255) NOT NULL, 
	count INTEGER NOT NULL, 
	expires_at FLOAT NOT NULL, 
	PRIMARY KEY ("key")
);
CREATE INDEX ix_manifests_subject ON manifests (repository_id, subject);
CREATE INDEX ix_tags_digest ON tags (repository_id, digest);
CREATE INDEX ix_event_deliveries_event_id ON event_deliveries (event_id);
CREATE INDEX ix_repository_settings_visibility_name ON repository_settings (visibility, name);
CREATE INDEX ix_repository_settings_namespace_name ON repository_settings (namespace, name);
CREATE INDEX ix_repository_settings_created_at ON repository_settings (created_at);
CREATE INDEX ix_events_created_at ON events (created_at);
CREATE INDEX ix_repository_settings_pull_count ON repository_settings (pull_count);
CREATE INDEX ix_repository_settings_last_push_at ON repository_settings (last_push_at);
CREATE INDEX ix_catalogue_tags_digest ON catalogue_tags (repository_id, digest);
CREATE INDEX ix_stars_user_id ON stars (user_id, created_at);
CREATE INDEX ix_comments_repository_created ON comments (repository_id, created_at);
CREATE INDEX ix_webhooks_repository ON webhooks (repository_id);
CREATE INDEX ix_webhooks_organisation ON webhooks (organisation_id);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX ix_webhook_deliveries_hook ON webhook_deliveries (hook_id, id);
CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
CREATE INDEX ix_repository_settings_star_count ON repository_settings (star_count);
CREATE TRIGGER repository_search_insert AFTER INSERT ON repository_settings BEGIN INSERT INTO repository_search(rowid, name, description, full_description) VALUES (new.id, new.name, new.description, new.full_description); END;
CREATE TRIGGER repository_search_delete AFTER DELETE ON repository_settings BEGIN INSERT INTO repository_search(repository_search, rowid, name, description, full_description) VALUES ('delete', old.id, old.name, old.description, old.full_description); END;
CREATE TRIGGER repository_search_update AFTER UPDATE OF name, description, full_description ON repository_settings BEGIN INSERT INTO repository_search(repository_search, rowid, name, description, full_description) VALUES ('delete', old.id, old.name, old.description, old.full_description); INSERT INTO repository_search(rowid, name, description, full_description) VALUES (new.id, new.name, new.description, new.full_description); END;
CREATE INDEX ix_web_sessions_user_id ON web_sessions (user_id);
CREATE INDEX ix_web_sessions_expires_at ON web_sessions (expires_at);
CREATE INDEX ix_repository_settings_last_component ON repository_settings ((substr(name, length(rtrim(name, replace(name, '/', ''))) + 1)));
CREATE INDEX ix_collaborators_user ON collaborators (user_id);
CREATE INDEX ix_collaborators_team ON collaborators (team_id);
CREATE INDEX ix_manifest_references_reference ON manifest_references (reference);
CREATE INDEX ix_repository_blobs_digest ON repository_blobs (digest);
CREATE INDEX ix_uploads_digest ON uploads (digest);
CREATE INDEX ix_rate_counters_expires_at ON rate_counters (expires_at);
CREATE INDEX ix_catalogue_tags_newest ON catalogue_tags (repository_id, pushed_at DESC, tag);
PRAGMA writable_schema=OFF;
COMMIT;
