include $(sort $(wildcard $(BR2_EXTERNAL_XMPPD_PATH)/package/*/*.mk))
