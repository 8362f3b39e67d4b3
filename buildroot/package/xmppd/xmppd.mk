################################################################################
#
# xmppd
#
################################################################################

XMPPD_VERSION = 0.1.0
XMPPD_SITE = $(call github,xmppd,xmppd,v$(XMPPD_VERSION))
XMPPD_GOMOD = xmppd
XMPPD_BUILD_TARGETS = cmd/xmppd
XMPPD_LDFLAGS = -X xmppd/internal/version.Version=$(XMPPD_VERSION)
# HTTP/1.1 only: leaves net/http's HTTP/2 out of the binary (about 0.4 MB).
XMPPD_TAGS = nethttpomithttp2

define XMPPD_USERS
	xmppd -1 xmppd -1 * /var/lib/xmppd - - xmppd XMPP server
endef

define XMPPD_PERMISSIONS
	/var/lib/xmppd d 750 xmppd xmppd - - - - -
endef

# The configuration is the upstream one for systemd hosts: UCI syntax,
# data in /var/lib/xmppd, admin socket in /run/xmppd.
define XMPPD_INSTALL_CONFIG
	$(INSTALL) -D -m 0640 $(@D)/scripts/systemd/xmppd.conf \
		$(TARGET_DIR)/etc/xmppd/xmppd.conf
endef
XMPPD_POST_INSTALL_TARGET_HOOKS += XMPPD_INSTALL_CONFIG

define XMPPD_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(XMPPD_PKGDIR)/S50xmppd \
		$(TARGET_DIR)/etc/init.d/S50xmppd
endef

define XMPPD_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/scripts/systemd/xmppd.service \
		$(TARGET_DIR)/usr/lib/systemd/system/xmppd.service
endef

ifeq ($(BR2_mips)$(BR2_mipsel),y)
# Buildroot's golang-package supports no 32-bit MIPS target, so this
# variant runs go build itself. The download is vendored the same way as
# golang-package's, so one hash file serves both.
XMPPD_DEPENDENCIES = host-go
XMPPD_DOWNLOAD_POST_PROCESS = go
XMPPD_DL_ENV = $(HOST_GO_COMMON_ENV) GOPROXY=direct BR_GOMOD=$(XMPPD_GOMOD)
XMPPD_GOARCH = $(if $(BR2_mipsel),mipsle,mips)
XMPPD_GOMIPS = $(if $(BR2_MIPS_SOFT_FLOAT),softfloat,hardfloat)

define XMPPD_BUILD_CMDS
	cd $(@D) && $(HOST_GO_COMMON_ENV) CGO_ENABLED=0 GOOS=linux \
		GOARCH=$(XMPPD_GOARCH) GOMIPS=$(XMPPD_GOMIPS) \
		GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local \
		$(GO_BIN) build -v -trimpath -buildvcs=false -tags "$(XMPPD_TAGS)" \
		-ldflags "$(XMPPD_LDFLAGS)" -o $(@D)/bin/xmppd ./$(XMPPD_BUILD_TARGETS)
endef

define XMPPD_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/bin/xmppd $(TARGET_DIR)/usr/bin/xmppd
endef

$(eval $(generic-package))
else
$(eval $(golang-package))
endif
